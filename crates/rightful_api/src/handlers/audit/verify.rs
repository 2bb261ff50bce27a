//! `GET /v1/audit/verify`: checks the hash chain and names every break.

use crate::auth::{Auditor, Auth};
use crate::error::ApiError;
use actix_web::{HttpResponse, web};
use rightful_engine::Engine;

/// The verification result: `{"ok": …, "entries": …, "problems": [...]}`.
#[utoipa::path(get, path = "/v1/audit/verify", tag = "auditor",
    responses((status = 200, body = crate::openapi::VerifyBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_verify(
    _: Auth<Auditor>,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    let v = engine
        .store
        .run(rightful_store::models::audit::verify)
        .await?;
    let problems: Vec<serde_json::Value> = v
        .problems
        .iter()
        .map(|p| serde_json::json!({"problem": p, "message": p.to_string()}))
        .collect();
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({"ok": v.ok(), "entries": v.entries, "problems": problems})))
}
