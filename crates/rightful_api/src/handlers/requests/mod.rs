//! The DPO's request queue.

pub mod decide;
pub mod directives;
pub mod documents;
pub mod get;
pub mod list;
pub mod result;
pub mod status;
pub mod submit;
pub mod verify;

/// A path id that is not a UUID names no request: 404, whatever it tries.
pub(crate) fn request_id(raw: &str) -> Result<String, crate::error::ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.to_string())
        .map_err(|_| crate::error::ApiError::NotFound)
}

/// The token of `Authorization: Request <token>`; a missing one answers like an unknown request.
pub(crate) fn subject_token(
    req: &actix_web::HttpRequest,
) -> Result<String, crate::error::ApiError> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Request "))
        .map(|t| t.trim().to_owned())
        .ok_or(crate::error::ApiError::NotFound)
}

/// The request token of a route that uses one, counted against the client's `token_per_ip`
/// limit first (429 past it), so that nobody can try tokens without bound.
pub(crate) fn limited_token(
    req: &actix_web::HttpRequest,
    engine: &rightful_engine::Engine,
) -> Result<String, crate::error::ApiError> {
    crate::auth::limit(
        req,
        engine,
        rightful_engine::limits::Scope::TokenIp,
        engine.settings.limits.token_per_ip,
    )?;
    subject_token(req)
}
