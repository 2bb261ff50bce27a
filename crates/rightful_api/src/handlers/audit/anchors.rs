//! `GET /v1/audit/anchors`: every signed head of the audit trail, for auditors to keep outside
//! the engine (issue 12 item 10).

use crate::auth::{Auditor, Auth};
use crate::error::ApiError;
use actix_web::{HttpResponse, web};
use rightful_engine::Engine;

/// Every anchor, by position: `[{typ, seq, hash, at, jws}]`; each `jws` verifies with
/// `/.well-known/jwks.json`.
#[utoipa::path(get, path = "/v1/audit/anchors", tag = "auditor",
    responses((status = 200, body = Vec<crate::openapi::AnchorBody>, description = "Every signed head, oldest first"), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 500, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_anchors(
    _: Auth<Auditor>,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    let anchors = rightful_engine::anchor::list(&engine).await?;
    Ok(HttpResponse::Ok().json(anchors))
}
