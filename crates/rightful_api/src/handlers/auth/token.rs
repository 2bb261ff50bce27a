//! `POST /v1/auth/token`: a staff member signs in with username and password.

use crate::auth::Public;
use crate::error::ApiError;
use actix_web::{HttpResponse, web};
use rightful_engine::Engine;
use serde::Deserialize;

/// The body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
}

/// Issues a bearer token carrying the account's role.
#[utoipa::path(
    post, path = "/v1/auth/token", tag = "public", operation_id = "post_token",
    request_body = Credentials,
    responses((status = 200, description = "Signed in", body = crate::openapi::TokenBody), (status = 400, description = "Malformed query or body, an unknown field or parameter, or a value out of its set", body = crate::error::ErrorBody), (status = 401, description = "`invalid_credentials`: wrong username or password (never says which)", body = crate::error::ErrorBody), (status = 413, description = "The body is larger than `server.body_limit_kib` (also when only Content-Length announces it)", body = crate::error::ErrorBody), (status = 415, description = "The body is not sent as `application/json`", body = crate::error::ErrorBody), (status = 429, description = "Too many calls from this client: try again after `Retry-After` seconds", body = crate::error::ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))), (status = 503, description = "The engine database cannot be reached", body = crate::error::ErrorBody))
)]
pub async fn post_token(
    engine: web::Data<Engine>,
    req: actix_web::HttpRequest,
    body: web::Json<Credentials>,
    _: Public,
) -> Result<HttpResponse, ApiError> {
    crate::auth::limit(
        &req,
        &engine,
        rightful_engine::limits::Scope::SigninIp,
        engine.settings.limits.signin_per_ip,
    )?;
    let (token, claims) =
        rightful_engine::auth::sign_in(&engine, &body.username, &body.password).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": claims.exp - claims.iat,
        "role": claims.role,
    })))
}
