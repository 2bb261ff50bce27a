//! Documents a request carries (A6, A7, A13, D5):
//! - `PUT /v1/requests/{id}/documents/{kind}` — the requester uploads, with
//!   `Authorization: Request <token>` and the file as the body (`application/pdf`, `image/jpeg`,
//!   `image/png`), only a document that was asked for;
//! - `GET /v1/requests/{id}/documents/{kind}` — the DPO reads it (the reading is audited);
//! - `POST /v1/requests/{id}/documents/{kind}/check` — the DPO records the check, which deletes it.

use crate::auth::{Auth, Dpo, Public};
use crate::error::ApiError;
use actix_web::{HttpRequest, HttpResponse, web};
use rightful_engine::Engine;
use serde::Deserialize;

/// Reads a body up to `limit` bytes; a larger one is refused with our JSON error.
pub(crate) async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, ApiError> {
    // An announced length over the limit is refused before anything is read.
    let announced = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge(limit / 1024));
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = futures_util::StreamExt::next(&mut payload).await {
        let chunk = chunk.map_err(|_| ApiError::BadRequest("the body could not be read".into()))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(limit / 1024));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Stores the upload: 204.
#[utoipa::path(
    put, path = "/v1/requests/{id}/documents/{kind}", tag = "subject",
    params(("id" = String, Path, description = "The request id"), ("kind" = String, Path, description = "identity_document, death_certificate, heir_status, executor_designation or mandate")),
    request_body(content = Vec<u8>, content_type = "application/pdf", description = "The document: PDF, JPEG or PNG"),
    responses((status = 204, description = "Stored until the DPO checks it"), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody)),
    security(("request_token" = []))
)]
pub async fn put_document(
    engine: web::Data<Engine>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    payload: web::Payload,
    _: Public,
) -> Result<HttpResponse, ApiError> {
    let (id, kind) = path.into_inner();
    let id = super::request_id(&id)?;
    let token = super::subject_token(&req)?;
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    crate::auth::limit(
        &req,
        &engine,
        rightful_engine::limits::Scope::TokenIp,
        engine.settings.limits.token_per_ip,
    )?;
    let body = read_body(
        &req,
        payload,
        engine.settings.identity.document_max_kib * 1024,
    )
    .await?;
    rightful_engine::documents::upload(
        &engine,
        &id,
        &token,
        &kind,
        &content_type,
        body.to_vec(),
        chrono::Utc::now(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The uploaded document, as uploaded.
#[utoipa::path(
    get, path = "/v1/requests/{id}/documents/{kind}", tag = "dpo",
    params(("id" = String, Path, description = "The request id"), ("kind" = String, Path, description = "The document kind")),
    responses((status = 200, description = "The document", content_type = "application/octet-stream"), (status = 404, description = "None waiting", body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get_document(
    auth: Auth<Dpo>,
    engine: web::Data<Engine>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, kind) = path.into_inner();
    let id = super::request_id(&id)?;
    let (content_type, content) =
        rightful_engine::documents::content(&engine, &id, &kind, &auth.actor(), chrono::Utc::now())
            .await?;
    // Served as a download of its checked type: a browser never renders it in our origin.
    let ext = match content_type.as_str() {
        "application/pdf" => "pdf",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        _ => "bin",
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{kind}.{ext}\""),
        ))
        .insert_header(("Cache-Control", "no-store"))
        .body(content))
}

/// The DPO's check.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// `accepted` or `rejected`.
    pub outcome: String,
    /// How it was checked (kept; the document is not).
    pub method: String,
}

/// Records the check and deletes the document; answers the request's status.
#[utoipa::path(
    post, path = "/v1/requests/{id}/documents/{kind}/check", tag = "dpo",
    params(("id" = String, Path, description = "The request id"), ("kind" = String, Path, description = "The document kind")),
    request_body = Check,
    responses((status = 200, description = "Checked and deleted; the request's status", body = crate::openapi::StatusBody), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn post_check(
    auth: Auth<Dpo>,
    engine: web::Data<Engine>,
    path: web::Path<(String, String)>,
    body: web::Json<Check>,
) -> Result<HttpResponse, ApiError> {
    let (id, kind) = path.into_inner();
    let id = super::request_id(&id)?;
    let accepted = match body.outcome.as_str() {
        "accepted" => true,
        "rejected" => false,
        _ => {
            return Err(ApiError::BadRequest(
                "`outcome` is accepted or rejected".into(),
            ));
        }
    };
    let status = rightful_engine::documents::check(
        &engine,
        &id,
        &kind,
        accepted,
        &body.method,
        &auth.actor(),
        chrono::Utc::now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"id": id, "status": status})))
}
