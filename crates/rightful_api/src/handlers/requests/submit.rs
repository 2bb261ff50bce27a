//! `POST /v1/requests`: a data subject, or an authorised agent, submits a request (any wording,
//! A14). An agent signs the exact body: `Rightful-Agent-Signature: agent=<id>, signature=<b64>`.

use crate::auth::Public;
use crate::error::ApiError;
use actix_web::{HttpRequest, HttpResponse, web};
use rightful_engine::Engine;
use rightful_engine::intake::{Submission, submit_from};
use rightful_engine::limits::Scope;

/// The header carrying an agent's signature.
pub const AGENT_SIGNATURE_HEADER: &str = "Rightful-Agent-Signature";

/// Accepts the request: 201 with its id, the subject's token, the due date and the signed
/// acknowledgement of receipt.
#[utoipa::path(
    post, path = "/v1/requests", tag = "subject", operation_id = "submit_request",
    request_body = rightful_engine::intake::Submission,
    params(("Rightful-Agent-Signature" = Option<String>, Header, description = "An authorised agent's signature over the exact body: `agent=<id>, signature=<base64 Ed25519>`")),
    responses((status = 201, description = "Accepted: the token is shown once", body = crate::openapi::AcceptedBody), (status = 400, description = "Malformed body, unknown field, invalid e-mail address, missing details, or a refused ID token or agent signature", body = crate::error::ErrorBody), (status = 413, description = "The body is larger than `server.body_limit_kib` (also when only Content-Length announces it)", body = crate::error::ErrorBody), (status = 415, description = "The body is not sent as `application/json`", body = crate::error::ErrorBody), (status = 429, description = "Too many calls from this client: try again after `Retry-After` seconds", body = crate::error::ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))), (status = 503, description = "The engine database cannot be reached, or the identity code could not be mailed", body = crate::error::ErrorBody))
)]
pub async fn submit_request(
    engine: web::Data<Engine>,
    req: HttpRequest,
    payload: web::Payload,
    _: Public,
) -> Result<HttpResponse, ApiError> {
    // A JSON route takes JSON only: a form or text/plain post from any web page through a
    // visitor's browser is refused (issue 12 item 11).
    if !crate::routes::is_json(&req) {
        return Err(ApiError::UnsupportedMediaType);
    }
    crate::auth::limit(
        &req,
        &engine,
        Scope::IntakeIp,
        engine.settings.limits.intake_per_ip,
    )?;
    // Read the body ourselves, up to the limit, so that an oversized one gets our JSON error.
    let body =
        super::documents::read_body(&req, payload, engine.settings.server.body_limit_kib * 1024)
            .await?;
    // The signature covers the bytes as received, so the body is parsed here, after it.
    let agent = match req.headers().get(AGENT_SIGNATURE_HEADER) {
        Some(h) => {
            let h = h.to_str().map_err(|_| {
                ApiError::BadRequest("the agent signature header is not text".into())
            })?;
            Some(rightful_engine::identity::verify_agent(
                &engine.settings.identity,
                h,
                &body,
            )?)
        }
        None => None,
    };
    let submission: Submission = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(crate::routes::describe_json_error(&e)))?;
    let channel = if agent.is_some() { "agent" } else { "web" };
    let accepted = submit_from(&engine, submission, channel, chrono::Utc::now(), agent).await?;
    Ok(HttpResponse::Created().json(accepted))
}
