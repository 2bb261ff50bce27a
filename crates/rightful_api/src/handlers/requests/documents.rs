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
    put, path = "/v1/requests/{id}/documents/{kind}", tag = "subject", operation_id = "upload_document",
    params(("id" = String, Path, description = "The request id"), ("kind" = crate::openapi::DocumentKindName, Path, description = "The document asked for")),
    request_body(description = "The document: PDF, JPEG or PNG, at most `identity.document_max_kib`", content(("application/pdf"), ("image/jpeg"), ("image/png"))),
    responses((status = 204, description = "Stored until the DPO checks it"), (status = 400, description = "Not a document kind, a media type other than PDF, JPEG or PNG, or no document of that kind is asked for", body = crate::error::ErrorBody), (status = 404, description = "Unknown request, any id that is not a UUID, or a missing or wrong subject token (indistinguishable)", body = crate::error::ErrorBody), (status = 413, description = "The document is larger than `identity.document_max_kib`", body = crate::error::ErrorBody), (status = 429, description = "Too many calls from this client: try again after `Retry-After` seconds", body = crate::error::ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))), (status = 503, description = "The engine database cannot be reached", body = crate::error::ErrorBody)),
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
    let token = super::limited_token(&req, &engine)?;
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
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
    get, path = "/v1/requests/{id}/documents/{kind}", tag = "dpo", operation_id = "read_document",
    params(("id" = String, Path, description = "The request id"), ("kind" = crate::openapi::DocumentKindName, Path, description = "The document kind")),
    responses((status = 200, description = "The document, as uploaded (the reading is audited)", content((String = "application/pdf"), (String = "image/jpeg"), (String = "image/png"))), (status = 400, description = "Not a document kind", body = crate::error::ErrorBody), (status = 401, description = "No staff token, or one that is malformed, expired or not ours (checked before the query and the body)", body = crate::error::ErrorBody), (status = 403, description = "The token's role may not call this route", body = crate::error::ErrorBody), (status = 404, description = "No such request, or no document of that kind waiting", body = crate::error::ErrorBody), (status = 503, description = "The engine database cannot be reached", body = crate::error::ErrorBody)),
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
#[schema(as = DocumentCheck)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// `accepted` or `rejected`.
    #[schema(value_type = crate::openapi::CheckOutcome)]
    pub outcome: String,
    /// How it was checked (kept; the document is not).
    #[schema(pattern = r"\S")]
    pub method: String,
}

/// Records the check and deletes the document; answers the request's status.
#[utoipa::path(
    post, path = "/v1/requests/{id}/documents/{kind}/check", tag = "dpo", operation_id = "check_document",
    params(("id" = String, Path, description = "The request id"), ("kind" = crate::openapi::DocumentKindName, Path, description = "The document kind")),
    request_body = Check,
    responses((status = 200, description = "Checked and deleted; the request's status", body = crate::openapi::StatusBody), (status = 400, description = "Malformed body, unknown field, not a document kind, a blank method, or no uploaded document of that kind waiting", body = crate::error::ErrorBody), (status = 401, description = "No staff token, or one that is malformed, expired or not ours (checked before the query and the body)", body = crate::error::ErrorBody), (status = 403, description = "The token's role may not call this route", body = crate::error::ErrorBody), (status = 404, description = "No such request, or no document of that kind waiting", body = crate::error::ErrorBody), (status = 409, description = "`invalid_transition`: the request's state does not allow it", body = crate::error::ErrorBody), (status = 413, description = "The body is larger than `server.body_limit_kib` (also when only Content-Length announces it)", body = crate::error::ErrorBody), (status = 415, description = "The body is not sent as `application/json`", body = crate::error::ErrorBody), (status = 503, description = "The engine database cannot be reached", body = crate::error::ErrorBody)),
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
