//! `GET /v1/requests/{id}/status` with `Authorization: Request <token>`: the subject follows
//! their request. A wrong token answers exactly like an unknown id.

use crate::auth::Public;
use crate::error::ApiError;
use actix_web::{HttpRequest, HttpResponse, web};
use rightful_engine::Engine;

/// The request's status and history.
#[utoipa::path(
    get, path = "/v1/requests/{id}/status", tag = "subject", operation_id = "get_request_status",
    params(("id" = String, Path, description = "The request id")),
    responses((status = 200, description = "The status and its history", body = crate::openapi::SubjectStatusBody), (status = 404, description = "Unknown request, any id that is not a UUID, or a missing or wrong subject token (indistinguishable)", body = crate::error::ErrorBody), (status = 429, description = "Too many calls from this client: try again after `Retry-After` seconds", body = crate::error::ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))), (status = 503, description = "The engine database cannot be reached", body = crate::error::ErrorBody)),
    security(("request_token" = []))
)]
pub async fn get_status(
    engine: web::Data<Engine>,
    path: web::Path<String>,
    req: HttpRequest,
    _: Public,
) -> Result<HttpResponse, ApiError> {
    let id = super::request_id(&path)?;
    let token = super::limited_token(&req, &engine)?;
    let view = rightful_engine::intake::status_for_subject(&engine, &id, &token).await?;
    Ok(HttpResponse::Ok().json(view))
}
