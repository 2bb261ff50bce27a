//! `GET /v1/requests/{id}/status` with `Authorization: Request <token>`: the subject follows
//! their request. A wrong token answers exactly like an unknown id.

use crate::auth::Public;
use crate::error::ApiError;
use actix_web::{HttpRequest, HttpResponse, web};
use rightful_engine::Engine;

/// The request's status and history.
pub async fn get_status(
    engine: web::Data<Engine>,
    path: web::Path<String>,
    req: HttpRequest,
    _: Public,
) -> Result<HttpResponse, ApiError> {
    let id = super::request_id(&path)?;
    let token = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Request "))
        .ok_or(ApiError::NotFound)?;
    let view = rightful_engine::intake::status_for_subject(&engine, &id, token.trim()).await?;
    Ok(HttpResponse::Ok().json(view))
}
