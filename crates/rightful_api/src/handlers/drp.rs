//! The Data Rights Protocol 1.0 (docs/DRP.md), for registered authorised agents (`DrpAgent`):
//! pair-wise set-up, agent information, exercise, status, revocation, and the result of a
//! fulfilled request. Signed bodies arrive as `text/plain` (or with no Content-Type); answers are
//! JSON, and errors follow the protocol: `{"code": "403", "message": …, "fatal": true}`.

use crate::auth::DrpAgent;
use actix_web::{HttpResponse, web};
use rightful_engine::Engine;
use rightful_engine::drp::{self, DrpError};

/// A DRP error body.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DrpErrorBody {
    /// The HTTP status, as a string.
    pub code: String,
    /// What went wrong (never personal data).
    pub message: String,
    /// Whether retrying the same call cannot succeed.
    pub fatal: bool,
}

fn error(e: &DrpError) -> HttpResponse {
    if let DrpError::Unavailable(detail) = e {
        tracing::error!(error = %detail, "DRP call failed on the engine's store");
    }
    let status = actix_web::http::StatusCode::from_u16(e.status())
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status).json(DrpErrorBody {
        code: e.status().to_string(),
        message: e.to_string(),
        fatal: e.fatal(),
    })
}

fn bearer(agent: &DrpAgent) -> Result<&str, DrpError> {
    agent
        .0
        .as_deref()
        .ok_or_else(|| DrpError::Forbidden("a DRP bearer token is required".into()))
}

fn answer(r: Result<serde_json::Value, DrpError>) -> HttpResponse {
    match r {
        Ok(v) => HttpResponse::Ok().json(v),
        Err(e) => error(&e),
    }
}

/// Pair-wise key set-up: a body signed by the registered agent named in the path gives it a
/// bearer token. Any failure is 403 with an empty body.
#[utoipa::path(
    post, path = "/v1/agent/{agent_id}", tag = "drp", operation_id = "drp_pair_agent",
    params(("agent_id" = String, Path, description = "The agent's id in the registry")),
    request_body(content = String, content_type = "text/plain", description = "base64(signature ‖ JSON {agent-id, business-id, issued-at, expires-at})"),
    responses((status = 200, description = "Paired: the token is shown once", body = crate::openapi::DrpPaired), (status = 403, description = "Validation failed (empty body)"), (status = 404, description = "The Data Rights Protocol is not enabled", body = DrpErrorBody), (status = 413, description = "The body is larger than `server.body_limit_kib`", body = crate::error::ErrorBody), (status = 503, description = "The engine database cannot be reached (not fatal: try again)", body = DrpErrorBody))
)]
pub async fn post_agent(
    engine: web::Data<Engine>,
    path: web::Path<String>,
    body: web::Bytes,
    _: DrpAgent,
) -> HttpResponse {
    match drp::setup(&engine, &path, &body, chrono::Utc::now()).await {
        Ok(paired) => HttpResponse::Ok().json(paired),
        Err(e @ (DrpError::Disabled | DrpError::Unavailable(_))) => error(&e),
        Err(e) => {
            tracing::info!(reason = %e, "DRP set-up refused");
            HttpResponse::Forbidden().finish()
        }
    }
}

/// Agent information: `{}` while the token is valid for this agent.
#[utoipa::path(
    get, path = "/v1/agent/{agent_id}", tag = "drp", operation_id = "drp_agent_info",
    params(("agent_id" = String, Path, description = "The agent's id")),
    responses((status = 200, description = "`{}`: the token is valid for this agent", body = crate::openapi::DrpAgentInfo), (status = 403, description = "A missing, unknown or expired token, or a request another agent manages (the protocol answers 403, not 401)", body = DrpErrorBody), (status = 404, description = "The Data Rights Protocol is not enabled", body = DrpErrorBody), (status = 503, description = "The engine database cannot be reached (not fatal: try again)", body = DrpErrorBody)),
    security(("drp_token" = []))
)]
pub async fn get_agent(
    engine: web::Data<Engine>,
    path: web::Path<String>,
    agent: DrpAgent,
) -> HttpResponse {
    let r = match bearer(&agent) {
        Ok(t) => drp::agent_info(&engine, t, &path).await,
        Err(e) => Err(e),
    };
    answer(r.map(|()| serde_json::json!({})))
}

/// Exercise: a signed data rights request; answers its status object.
#[utoipa::path(
    post, path = "/v1/data-rights-request", tag = "drp", operation_id = "drp_exercise",
    request_body(content = String, content_type = "text/plain", description = "base64(signature ‖ JSON exercise)"),
    responses((status = 200, description = "The status object", body = crate::openapi::DrpStatusBody), (status = 400, description = "A malformed or unsupported exercise", body = DrpErrorBody), (status = 403, description = "A missing, unknown or expired token, or a request another agent manages (the protocol answers 403, not 401)", body = DrpErrorBody), (status = 404, description = "The Data Rights Protocol is not enabled", body = DrpErrorBody), (status = 413, description = "The body is larger than `server.body_limit_kib`", body = crate::error::ErrorBody), (status = 503, description = "The engine database cannot be reached (not fatal: try again)", body = DrpErrorBody)),
    security(("drp_token" = []))
)]
pub async fn post_request(
    engine: web::Data<Engine>,
    body: web::Bytes,
    agent: DrpAgent,
) -> HttpResponse {
    let r = match bearer(&agent) {
        Ok(t) => drp::exercise(&engine, t, &body, chrono::Utc::now()).await,
        Err(e) => Err(e),
    };
    answer(r)
}

/// Status: the request's status object; 403 when another agent manages it.
#[utoipa::path(
    get, path = "/v1/data-rights-request/{id}", tag = "drp", operation_id = "drp_status",
    params(("id" = String, Path, description = "The DRP request_id")),
    responses((status = 200, description = "The status object", body = crate::openapi::DrpStatusBody), (status = 403, description = "A missing, unknown or expired token, or a request another agent manages (the protocol answers 403, not 401)", body = DrpErrorBody), (status = 404, description = "Unknown request, or the Data Rights Protocol is not enabled", body = DrpErrorBody), (status = 503, description = "The engine database cannot be reached (not fatal: try again)", body = DrpErrorBody)),
    security(("drp_token" = []))
)]
pub async fn get_request(
    engine: web::Data<Engine>,
    path: web::Path<String>,
    agent: DrpAgent,
) -> HttpResponse {
    let r = match bearer(&agent) {
        Ok(t) => drp::status(&engine, t, &path).await,
        Err(e) => Err(e),
    };
    answer(r)
}

/// Revoke: a signed `{"reason": …}`; the request becomes `revoked` unless it is already being
/// carried out (409).
#[utoipa::path(
    delete, path = "/v1/data-rights-request/{id}", tag = "drp", operation_id = "drp_revoke",
    params(("id" = String, Path, description = "The DRP request_id")),
    request_body(content = String, content_type = "text/plain", description = "base64(signature ‖ JSON {reason})"),
    responses((status = 200, description = "The status object, `revoked`", body = crate::openapi::DrpStatusBody), (status = 400, description = "Not a signed revocation", body = DrpErrorBody), (status = 403, description = "A missing, unknown or expired token, or a request another agent manages (the protocol answers 403, not 401)", body = DrpErrorBody), (status = 404, description = "Unknown request, or the Data Rights Protocol is not enabled", body = DrpErrorBody), (status = 409, description = "Already being carried out", body = DrpErrorBody), (status = 413, description = "The body is larger than `server.body_limit_kib`", body = crate::error::ErrorBody), (status = 503, description = "The engine database cannot be reached (not fatal: try again)", body = DrpErrorBody)),
    security(("drp_token" = []))
)]
pub async fn delete_request(
    engine: web::Data<Engine>,
    path: web::Path<String>,
    body: web::Bytes,
    agent: DrpAgent,
) -> HttpResponse {
    let r = match bearer(&agent) {
        Ok(t) => drp::revoke(&engine, t, &path, &body, chrono::Utc::now()).await,
        Err(e) => Err(e),
    };
    answer(r)
}

/// The result of a fulfilled access request (the `results_url`): a ZIP, streamed.
#[utoipa::path(
    get, path = "/v1/data-rights-request/{id}/result", tag = "drp", operation_id = "drp_result",
    params(("id" = String, Path, description = "The DRP request_id")),
    responses((status = 200, description = "The result, a ZIP", content((String = "application/zip"))), (status = 403, description = "A missing, unknown or expired token, or a request another agent manages (the protocol answers 403, not 401)", body = DrpErrorBody), (status = 404, description = "Unknown request, the result file is gone, or the Data Rights Protocol is not enabled", body = crate::openapi::AnyErrorBody), (status = 409, description = "Not fulfilled yet, or the download expired", body = DrpErrorBody), (status = 503, description = "The engine database cannot be reached (not fatal: try again)", body = DrpErrorBody)),
    security(("drp_token" = []))
)]
pub async fn get_result(
    engine: web::Data<Engine>,
    path: web::Path<String>,
    agent: DrpAgent,
) -> HttpResponse {
    let file = match bearer(&agent) {
        Ok(t) => drp::result(&engine, t, &path).await,
        Err(e) => Err(e),
    };
    match file {
        Ok((rid, size)) => super::requests::result::zip_download(&engine, &rid, size, &path),
        Err(e) => error(&e),
    }
}
