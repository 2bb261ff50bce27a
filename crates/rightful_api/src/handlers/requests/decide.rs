//! `POST /v1/requests/{id}/decision`: the DPO approves, denies (with reasons, A10) or extends
//! (within the first month, with reasons, A4).

use crate::auth::{Auth, Dpo};
use crate::error::ApiError;
use actix_web::{HttpResponse, web};
use rightful_engine::Engine;
use rightful_engine::intake::{Decision, decide};

/// Applies the decision; answers the new status.
#[utoipa::path(
    post, path = "/v1/requests/{id}/decision", tag = "dpo", operation_id = "decide_request",
    params(("id" = String, Path, description = "The request id")),
    request_body = rightful_engine::intake::Decision,
    responses((status = 200, description = "Applied: the new status", body = crate::openapi::StatusBody), (status = 400, description = "Malformed body, unknown field, or a decision without its reasons", body = crate::error::ErrorBody), (status = 401, description = "No staff token, or one that is malformed, expired or not ours (checked before the query and the body)", body = crate::error::ErrorBody), (status = 403, description = "The token's role may not call this route", body = crate::error::ErrorBody), (status = 404, description = "No such request (also any id that is not a UUID)", body = crate::error::ErrorBody), (status = 409, description = "`invalid_transition`: not allowed from the current status; `extension_refused`", body = crate::error::ErrorBody), (status = 413, description = "The body is larger than `server.body_limit_kib` (also when only Content-Length announces it)", body = crate::error::ErrorBody), (status = 415, description = "The body is not sent as `application/json`", body = crate::error::ErrorBody), (status = 503, description = "`notice_failed`: the notice could not be sent, nothing changed; or the engine database cannot be reached", body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn post_decision(
    auth: Auth<Dpo>,
    engine: web::Data<Engine>,
    path: web::Path<String>,
    body: web::Json<Decision>,
) -> Result<HttpResponse, ApiError> {
    let id = super::request_id(&path)?;
    let status = decide(
        &engine,
        &id,
        body.into_inner(),
        &auth.actor(),
        chrono::Utc::now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"id": id, "status": status})))
}
