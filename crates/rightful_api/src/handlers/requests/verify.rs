//! `POST /v1/requests/{id}/verify` with `Authorization: Request <token>` and `{"code": "123456"}`:
//! the subject confirms the e-mail code.

use crate::auth::Public;
use crate::error::ApiError;
use actix_web::{HttpRequest, HttpResponse, web};
use rightful_engine::Engine;
use serde::Deserialize;

/// The body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Body {
    /// The code received by e-mail.
    pub code: String,
}

/// Confirms the code; answers the new status.
#[utoipa::path(post, path = "/v1/requests/{id}/verify", tag = "subject",
    params(("id" = String, Path, description = "The request id")),
    request_body = Body,
    responses((status = 200, body = crate::openapi::StatusBody), (status = 400, description = "Wrong, expired or used code", body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("request_token" = [])))]
pub async fn post_verify(
    engine: web::Data<Engine>,
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Json<Body>,
    _: Public,
) -> Result<HttpResponse, ApiError> {
    let id = super::request_id(&path)?;
    crate::auth::limit(
        &req,
        &engine,
        rightful_engine::limits::Scope::VerifyIp,
        engine.settings.limits.verify_per_ip,
    )?;
    let token = super::subject_token(&req)?;
    let status =
        rightful_engine::intake::verify_code(&engine, &id, &token, &body.code, chrono::Utc::now())
            .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"id": id, "status": status})))
}
