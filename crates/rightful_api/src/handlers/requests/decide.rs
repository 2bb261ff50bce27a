//! `POST /v1/requests/{id}/decision`: the DPO approves, denies (with reasons, A10) or extends
//! (within the first month, with reasons, A4).

use crate::auth::{Auth, Dpo};
use crate::error::ApiError;
use actix_web::{HttpResponse, web};
use rightful_engine::Engine;
use rightful_engine::intake::{Decision, decide};

/// Applies the decision; answers the new status.
#[utoipa::path(post, path = "/v1/requests/{id}/decision", tag = "dpo",
    params(("id" = String, Path, description = "The request id")),
    request_body = rightful_engine::intake::Decision,
    responses((status = 200, body = crate::openapi::StatusBody), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, description = "Not allowed from the current status, or extension refused", body = crate::error::ErrorBody), (status = 503, description = "The notice could not be sent; nothing changed", body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
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
