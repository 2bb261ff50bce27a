//! `POST /v1/requests/{id}/verify` with `Authorization: Request <token>` and `{"code": "123456"}`:
//! the subject confirms the e-mail code.

use crate::auth::Public;
use crate::error::ApiError;
use actix_web::{HttpRequest, HttpResponse, web};
use rightful_engine::Engine;
use serde::Deserialize;

/// The body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = VerificationCode)]
#[serde(deny_unknown_fields)]
pub struct Body {
    /// The code received by e-mail.
    pub code: String,
}

/// Confirms the code; answers the new status.
#[utoipa::path(
    post, path = "/v1/requests/{id}/verify", tag = "subject", operation_id = "verify_request_code",
    params(("id" = String, Path, description = "The request id")),
    request_body = Body,
    responses((status = 200, description = "Verified: the new status", body = crate::openapi::StatusBody), (status = 400, description = "Malformed body, or `invalid_code`: a wrong, expired, used or cancelled code", body = crate::error::ErrorBody), (status = 404, description = "Unknown request, any id that is not a UUID, or a missing or wrong subject token (indistinguishable)", body = crate::error::ErrorBody), (status = 413, description = "The body is larger than `server.body_limit_kib` (also when only Content-Length announces it)", body = crate::error::ErrorBody), (status = 415, description = "The body is not sent as `application/json`", body = crate::error::ErrorBody), (status = 429, description = "Too many calls from this client: try again after `Retry-After` seconds", body = crate::error::ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))), (status = 503, description = "The engine database cannot be reached", body = crate::error::ErrorBody)),
    security(("request_token" = []))
)]
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
