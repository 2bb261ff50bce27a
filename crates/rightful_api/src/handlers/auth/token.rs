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
#[utoipa::path(post, path = "/v1/auth/token", tag = "public",
    request_body = Credentials,
    responses((status = 200, body = crate::openapi::TokenBody), (status = 401, body = crate::error::ErrorBody)))]
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
