//! Role extractors: a handler names the role it needs as an argument, so a required role cannot be
//! forgotten (`_: Auth<Dpo>`). Staff send `Authorization: Bearer <token>` from
//! `POST /v1/auth/token`. A missing or invalid token is 401, a token of the wrong role 403.

use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
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

/// What the session middleware ([`authenticate`]) found in `Authorization: Bearer`, kept in the
/// request's extensions for [`Auth`].
#[derive(Debug, Clone)]
pub(crate) enum Session {
    /// A token that stands: signed by us (or the identity provider), unexpired, its account
    /// enabled and of the same token version.
    Valid(Claims),
    /// A token that does not.
    Invalid,
}

/// Checks a staff token: one issued by Rightful (`POST /v1/auth/token`) whose account still
/// stands (not disabled, not removed, same token version: issue 12 item 5), or one from the
/// configured identity provider when staff sign-in there is enabled.
pub(crate) async fn authenticate(engine: &Engine, token: &str) -> Result<Claims, ApiError> {
    match engine.auth.verify(token) {
        Ok(claims) => match rightful_engine::auth::session_valid(engine, &claims).await {
            Ok(true) => Ok(claims),
            Ok(false) => Err(ApiError::Unauthenticated),
            Err(e) => Err(e.into()),
        },
        Err(_) => rightful_engine::identity::verify_staff_token(engine, token)
            .await
            .map_err(|_| ApiError::Unauthenticated),
    }
}

/// The bearer token of a request, if any.
pub(crate) fn bearer(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

impl<R: RequiredRole + 'static> FromRequest for Auth<R> {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    /// Reads what the session middleware found: ready at once, so that a handler that names
    /// `Auth` first answers 401/403 before its query or body is looked at.
    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        use actix_web::HttpMessage as _;
        let session = req.extensions().get::<Session>().cloned();
        ready(match session {
            Some(Session::Valid(claims)) if R::allows(claims.role) => Ok(Auth {
                claims,
                role: PhantomData,
            }),
            Some(Session::Valid(_)) => Err(ApiError::Forbidden(R::NAME)),
            Some(Session::Invalid) | None => Err(ApiError::Unauthenticated),
        })
    }
}

/// The client's address: the peer's, or — when the peer is one of `[limits] trusted_proxies` —
/// the last address of `X-Forwarded-For` that is not a trusted proxy. Used only to count rate
/// limits; never logged.
pub(crate) fn client_ip(req: &HttpRequest, engine: &Engine) -> String {
    let peer = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let trusted = &engine.settings.limits.trusted_proxies;
    if !trusted.iter().any(|t| t == &peer) {
        return peer;
    }
    req.headers()
        .get("X-Forwarded-For")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.rsplit(',')
                .map(str::trim)
                .find(|ip| !trusted.iter().any(|t| t == ip))
                .map(str::to_owned)
        })
        .unwrap_or(peer)
}

/// Counts one request of `scope` from the client's address against `rate`: 429 past it.
pub(crate) fn limit(
    req: &HttpRequest,
    engine: &Engine,
    scope: rightful_engine::limits::Scope,
    rate: rightful_engine::settings::Rate,
) -> Result<(), ApiError> {
    Ok(engine.limits.hit(
        scope,
        &client_ip(req, engine),
        rate,
        std::time::Instant::now(),
    )?)
}
