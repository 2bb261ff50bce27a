//! The API's one error type and its code table.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use rightful_engine::register::RegisterError;
use serde::Serialize;

/// Every error an API handler can return.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The query string or body is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// No such route or resource.
    #[error("no such resource")]
    NotFound,
    /// No valid staff token.
    #[error("a valid staff token is required")]
    Unauthenticated,
    /// The token's role may not call this route.
    #[error("this route needs the `{0}` role")]
    Forbidden(&'static str),
    /// The body is larger than the configured limit.
    #[error("the body is larger than {0} KiB")]
    PayloadTooLarge(usize),
    /// A wrong, expired or used identity code.
    #[error("{0}")]
    InvalidCode(String),
    /// The lifecycle forbids this step.
    #[error("{0}")]
    InvalidTransition(String),
    /// An extension after the first month, or a second one (A4).
    #[error("{0}")]
    ExtensionRefused(String),
    /// Wrong username or password (never says which).
    #[error("invalid username or password")]
    InvalidCredentials,
    /// The register cannot be exported until the policy is completed.
    #[error("{0}")]
    RegisterIncomplete(String),
    /// The engine database is unreachable.
    #[error("the engine database is unavailable")]
    Unavailable(String),
    /// A refusal or an extension stands only once its notice is sent (A4, A10); the mail could
    /// not go, so nothing changed.
    #[error("the notice to the subject could not be sent, so nothing was changed: try again later")]
    NoticeFailed,
    /// The request has no result yet.
    #[error("the request is `{0}`: its result is ready once it is completed")]
    NotReady(String),
    /// The download link has expired.
    #[error("the download has expired; make a new request if you need the data again")]
    Expired,
    /// Too many requests: wait `Retry-After` seconds (issue 12 item 3).
    #[error("too many requests: try again in {0} s")]
    RateLimited(u64),
    /// A JSON route was sent another media type (issue 12 item 11).
    #[error("send the body as application/json")]
    UnsupportedMediaType,
    /// No such method on this path.
    #[error("this method is not allowed on this path")]
    MethodNotAllowed,
    /// A request token whose request's identity is not verified yet proves nothing about
    /// identity: it can verify, upload what was asked, and read the status (issue 12 item 1).
    #[error("verify your identity first: until then this request discloses nothing")]
    NotVerified,
    /// Anything else: logged, never shown.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// The status and stable code of each error: one exhaustive match, no default arm.
    pub fn code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            Self::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            Self::InvalidTransition(_) => (StatusCode::CONFLICT, "invalid_transition"),
            Self::InvalidCode(_) => (StatusCode::BAD_REQUEST, "invalid_code"),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::ExtensionRefused(_) => (StatusCode::CONFLICT, "extension_refused"),
            Self::RegisterIncomplete(_) => (StatusCode::CONFLICT, "register_incomplete"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::NoticeFailed => (StatusCode::SERVICE_UNAVAILABLE, "notice_failed"),
            Self::NotReady(_) => (StatusCode::CONFLICT, "not_ready"),
            Self::Expired => (StatusCode::GONE, "expired"),
            Self::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::NotVerified => (StatusCode::FORBIDDEN, "identity_not_verified"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

/// The JSON body of every error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable snake_case code.
    #[schema(value_type = String, example = "bad_request")]
    pub error: &'static str,
    /// Human-readable message (no internals, no personal data).
    pub message: String,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, code) = self.code();
        match self {
            Self::Internal(cause) | Self::Unavailable(cause) => {
                tracing::error!(error.code = code, error.cause = %cause, "request failed");
            }
            Self::BadRequest(_)
            | Self::NotFound
            | Self::Unauthenticated
            | Self::Forbidden(_)
            | Self::InvalidCredentials
            | Self::InvalidTransition(_)
            | Self::InvalidCode(_)
            | Self::PayloadTooLarge(_)
            | Self::ExtensionRefused(_)
            | Self::RegisterIncomplete(_)
            | Self::NoticeFailed
            | Self::NotReady(_)
            | Self::Expired
            | Self::RateLimited(_)
            | Self::UnsupportedMediaType
            | Self::MethodNotAllowed
            | Self::NotVerified => {}
        }
        let mut res = HttpResponse::build(status);
        if let Self::RateLimited(secs) = self {
            res.insert_header(("Retry-After", secs.to_string()));
        }
        res.json(ErrorBody {
            error: code,
            message: self.to_string(),
        })
    }
}

impl From<rightful_engine::auth::SignInError> for ApiError {
    fn from(e: rightful_engine::auth::SignInError) -> Self {
        match e {
            rightful_engine::auth::SignInError::Auth(a) => a.into(),
            rightful_engine::auth::SignInError::Limited(l) => l.into(),
        }
    }
}

impl From<rightful_engine::limits::Limited> for ApiError {
    fn from(l: rightful_engine::limits::Limited) -> Self {
        Self::RateLimited(l.retry_after_secs)
    }
}

impl From<RegisterError> for ApiError {
    fn from(e: RegisterError) -> Self {
        match e {
            RegisterError::UnknownFormat(_) => Self::BadRequest(e.to_string()),
            RegisterError::Incomplete(_) => Self::RegisterIncomplete(e.to_string()),
            RegisterError::Write(cause) => Self::Internal(cause),
        }
    }
}

impl From<rightful_engine::auth::AuthError> for ApiError {
    fn from(e: rightful_engine::auth::AuthError) -> Self {
        use rightful_engine::auth::AuthError as A;
        match e {
            A::InvalidCredentials => Self::InvalidCredentials,
            A::InvalidToken => Self::Unauthenticated,
            A::Invalid(m) => Self::BadRequest(m),
            A::Engine(e) => Self::Internal(e.to_string()),
        }
    }
}

impl From<rightful_engine::intake::IntakeError> for ApiError {
    fn from(e: rightful_engine::intake::IntakeError) -> Self {
        use rightful_core::deadline::ExtensionError;
        use rightful_engine::intake::IntakeError as I;
        match e {
            I::Invalid(m) => Self::BadRequest(m),
            I::Code(m) => Self::InvalidCode(m),
            I::NotFound => Self::NotFound,
            I::Transition(t) => Self::InvalidTransition(t.to_string()),
            I::Extension(x @ ExtensionError::MissingReason) => Self::BadRequest(x.to_string()),
            I::Extension(x) => Self::ExtensionRefused(x.to_string()),
            I::Engine(e) => Self::Internal(e.to_string()),
            I::Notice(_) => Self::NoticeFailed,
            I::Limited(l) => Self::RateLimited(l.retry_after_secs),
            I::NotVerified => Self::NotVerified,
        }
    }
}

impl From<rightful_engine::EngineError> for ApiError {
    fn from(e: rightful_engine::EngineError) -> Self {
        match e {
            rightful_engine::EngineError::Store(s) => s.into(),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<rightful_store::StoreError> for ApiError {
    fn from(e: rightful_store::StoreError) -> Self {
        match e {
            rightful_store::StoreError::Connect(cause) => Self::Unavailable(cause),
            other => Self::Internal(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_never_show_their_cause() {
        let e = ApiError::Internal("password=hunter2 at db".into());
        assert_eq!(e.to_string(), "internal error");
        assert_eq!(e.code(), (StatusCode::INTERNAL_SERVER_ERROR, "internal"));
        let e = ApiError::Unavailable("host db.internal refused".into());
        assert!(!e.to_string().contains("db.internal"));
    }
}
