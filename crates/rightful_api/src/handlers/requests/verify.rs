//! `POST /v1/requests/{id}/verify` with `Authorization: Request <token>` and `{"code": "123456"}`:
//! the subject confirms the e-mail code.

use crate::auth::Public;
use crate::error::ApiError;
use actix_web::{HttpRequest, HttpResponse, web};
use rightful_engine::Engine;
use serde::Deserialize;

/// The body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    /// The code received by e-mail.
    pub code: String,
}

/// Confirms the code; answers the new status.
pub async fn post_verify(
    engine: web::Data<Engine>,
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Json<Body>,
    _: Public,
) -> Result<HttpResponse, ApiError> {
    let id = super::request_id(&path)?;
    let token = super::subject_token(&req)?;
    let status =
        rightful_engine::intake::verify_code(&engine, &id, &token, &body.code, chrono::Utc::now())
            .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"id": id, "status": status})))
}
