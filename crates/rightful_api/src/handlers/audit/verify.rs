//! `GET /v1/audit/verify`: checks the hash chain and names every break, then checks the trail
//! against the newest signed head the engine knows of (issue 12 item 10).

use crate::auth::{Auditor, Auth};
use crate::error::ApiError;
use actix_web::{HttpResponse, web};
use rightful_engine::Engine;

/// The verification result: `{"ok", "entries", "problems": [...], "anchored_seq", "anchored_at"}`,
/// against the newest signed head.
#[utoipa::path(
    get, path = "/v1/audit/verify", tag = "auditor", operation_id = "verify_audit",
    responses((status = 200, description = "The verification; `ok` is false when the chain is broken", body = crate::openapi::VerifyBody), (status = 401, description = "No staff token, or one that is malformed, expired or not ours (checked before the query and the body)", body = crate::error::ErrorBody), (status = 403, description = "The token's role may not call this route", body = crate::error::ErrorBody), (status = 503, description = "The engine database cannot be reached", body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get_verify(
    _: Auth<Auditor>,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    let report = rightful_engine::anchor::check(&engine).await?;
    let problems: Vec<serde_json::Value> = report
        .refused
        .iter()
        .map(|m| serde_json::json!({"problem": {"kind": "anchor_refused"}, "message": m}))
        .chain(
            report
                .verification
                .problems
                .iter()
                .map(|p| serde_json::json!({"problem": p, "message": p.to_string()})),
        )
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "ok": report.ok(),
        "entries": report.verification.entries,
        "problems": problems,
        "anchored_seq": report.anchor.as_ref().map(|a| a.seq),
        "anchored_at": report.anchor.as_ref().map(|a| a.at),
    })))
}
