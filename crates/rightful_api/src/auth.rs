//! Role extractors: a handler names the role it needs as an argument, so a required role cannot be
//! forgotten (`_: Auth<Dpo>`). Staff send `Authorization: Bearer <token>` from
//! `POST /v1/auth/token`. A missing or invalid token is 401, a token of the wrong role 403.

use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use rightful_engine::Engine;
use rightful_engine::auth::{Claims, Role};
use std::future::{Ready, ready};
use std::marker::PhantomData;

/// The route needs no authentication: it serves no personal data (health, the register of
/// processing activities, which describes processing and names no data subject, sign-in).
#[derive(Debug, Clone, Copy)]
pub struct Public;

impl FromRequest for Public {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(_req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(Ok(Self))
    }
}

/// The route belongs to the Data Rights Protocol: the caller is a registered authorised agent,
/// known by the pair-wise bearer token it obtained at set-up (or, at set-up itself, by its
/// signature over the body). The handler checks the token against the engine; this extractor
/// only reads it (`None` when absent).
#[derive(Debug, Clone)]
pub struct DrpAgent(pub Option<String>);

impl FromRequest for DrpAgent {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let token = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty());
        ready(Ok(Self(token)))
    }
}

/// A role a route can require.
pub trait RequiredRole {
    /// Its name in errors.
    const NAME: &'static str;
    /// Whether a token of `role` may call the route.
    fn allows(role: Role) -> bool;
}

/// The DPO and privacy staff: the request queue and its decisions.
#[derive(Debug)]
pub struct Dpo;

impl RequiredRole for Dpo {
    const NAME: &'static str = "dpo";
    fn allows(role: Role) -> bool {
        role == Role::Dpo
    }
}

/// Read-only accountability: the register, the audit trail and its verification. The DPO may
/// read them too.
#[derive(Debug)]
pub struct Auditor;

impl RequiredRole for Auditor {
    const NAME: &'static str = "auditor";
    fn allows(role: Role) -> bool {
        matches!(role, Role::Auditor | Role::Dpo)
    }
}

/// The site's own systems (a mailing tool checking the suppression list); the DPO may too.
#[derive(Debug)]
pub struct Site;

impl RequiredRole for Site {
    const NAME: &'static str = "site";
    fn allows(role: Role) -> bool {
        matches!(role, Role::Site | Role::Dpo)
    }
}

/// A verified staff token of a role that `R` allows.
#[derive(Debug)]
pub struct Auth<R> {
    /// The token's claims (who is acting, for the audit trail).
    pub claims: Claims,
    role: PhantomData<R>,
}

impl<R> Auth<R> {
    /// The actor as written in the audit trail: `dpo:<staff id>`.
    pub fn actor(&self) -> String {
        format!("{}:{}", self.claims.role.as_str(), self.claims.sub)
    }
}

/// Checks a staff token: one issued by Rightful (`POST /v1/auth/token`), or one from the
/// configured identity provider when staff sign-in there is enabled.
async fn check<R: RequiredRole>(
    engine: Option<web::Data<Engine>>,
    token: Option<String>,
) -> Result<Auth<R>, ApiError> {
    let engine = engine.ok_or_else(|| ApiError::Internal("engine missing".into()))?;
    let token = token.ok_or(ApiError::Unauthenticated)?;
    let claims = match engine.auth.verify(token.trim()) {
        Ok(c) => c,
        Err(_) => rightful_engine::identity::verify_staff_token(&engine, token.trim())
            .await
            .map_err(|_| ApiError::Unauthenticated)?,
    };
    if !R::allows(claims.role) {
        return Err(ApiError::Forbidden(R::NAME));
    }
    Ok(Auth {
        claims,
        role: PhantomData,
    })
}

impl<R: RequiredRole + 'static> FromRequest for Auth<R> {
    type Error = ApiError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let engine = req.app_data::<web::Data<Engine>>().cloned();
        let token = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned);
        Box::pin(check::<R>(engine, token))
    }
}
