//! `GET /v1/requests/{id}/directives` with `Authorization: Request <token>`: every version of the
//! post-mortem directives recorded for the requester's address (D2).

use crate::auth::Public;
use crate::error::ApiError;
use actix_web::{HttpRequest, HttpResponse, web};
use rightful_engine::Engine;

/// The versions, oldest first.
#[utoipa::path(
    get, path = "/v1/requests/{id}/directives", tag = "subject", operation_id = "get_request_directives",
    params(("id" = String, Path, description = "Any of the subject's post-mortem requests")),
    responses((status = 200, description = "Every version, oldest first", body = crate::openapi::DirectivesBody), (status = 403, description = "`identity_not_verified`: the request's identity is not verified yet", body = crate::error::ErrorBody), (status = 404, description = "Unknown request, any id that is not a UUID, or a missing or wrong subject token (indistinguishable)", body = crate::error::ErrorBody), (status = 429, description = "Too many calls from this client: try again after `Retry-After` seconds", body = crate::error::ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))), (status = 503, description = "The engine database cannot be reached", body = crate::error::ErrorBody)),
    security(("request_token" = []))
)]
pub async fn get_directives(
    engine: web::Data<Engine>,
    path: web::Path<String>,
    req: HttpRequest,
    _: Public,
) -> Result<HttpResponse, ApiError> {
    let id = super::request_id(&path)?;
    let token = super::limited_token(&req, &engine)?;
    let versions = rightful_engine::postmortem::history_for_subject(&engine, &id, &token).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"versions": versions})))
}
