//! Staff authentication: accounts with argon2-hashed passwords (`rightful staff add`), signed in
//! for a JWT bearer token (HS256, 8 hours) that carries the role, `dpo` or `auditor`.

use crate::{Engine, EngineError};
use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rightful_store::models::staff::{self, Staff};
use serde::{Deserialize, Serialize};

/// The variable holding the token-signing secret.
pub const JWT_SECRET_VAR: &str = "RIGHTFUL_JWT_SECRET";
/// How long a staff token is valid.
pub const TOKEN_SECONDS: i64 = 8 * 3600;
const ISSUER: &str = "rightful";

/// Staff roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The DPO and privacy staff: work the request queue.
    Dpo,
    /// Auditors: read the register and the audit trail.
    Auditor,
    /// The site's own systems (a mailing tool): may only check the suppression list before
    /// writing to someone.
    Site,
}

impl Role {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dpo => "dpo",
            Self::Auditor => "auditor",
            Self::Site => "site",
        }
    }

    /// Parses `dpo` or `auditor`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "dpo" => Some(Self::Dpo),
            "auditor" => Some(Self::Auditor),
            "site" => Some(Self::Site),
            _ => None,
        }
    }
}

/// The claims of a staff token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Staff id.
    pub sub: String,
    /// Username (an identifier of staff, not of a data subject).
    pub name: String,
    /// Role.
    pub role: Role,
    /// Issuer.
    pub iss: String,
    /// Issued at.
    pub iat: i64,
    /// Expires at.
    pub exp: i64,
}

/// Why signing in or a token failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown user, wrong password or disabled account (never says which).
    #[error("invalid username or password")]
    InvalidCredentials,
    /// The token is missing, malformed, expired or not ours.
    #[error("a valid staff token is required")]
    InvalidToken,
    /// A bad username, role or password when adding staff.
    #[error("{0}")]
    Invalid(String),
    /// The store.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// The keys that sign and verify staff tokens.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(..)")
    }
}

impl TokenKeys {
    /// Keys from a shared secret.
    pub fn new(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    /// Signs claims.
    pub fn issue(&self, claims: &Claims) -> Result<String, AuthError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|_| AuthError::InvalidToken)
    }

    /// Verifies a token: signature, algorithm, issuer and expiry.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[ISSUER]);
        v.leeway = 0;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .map(|d| d.claims)
            .map_err(|_| AuthError::InvalidToken)
    }
}

/// An argon2 hash of `password`.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Invalid(e.to_string()))
}

fn password_matches(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Adds a staff account (`rightful staff add`); passwords need at least 12 characters.
pub fn add_staff(
    engine: &Engine,
    username: &str,
    role: Role,
    password: &str,
) -> Result<(), AuthError> {
    if !rightful_core::storemap::is_identifier(username) {
        return Err(AuthError::Invalid(
            "a username is 1-63 letters, digits or _".into(),
        ));
    }
    if password.chars().count() < 12 {
        return Err(AuthError::Invalid(
            "a staff password needs at least 12 characters".into(),
        ));
    }
    let account = Staff {
        id: uuid::Uuid::new_v4().to_string(),
        username: username.to_owned(),
        role: role.as_str().to_owned(),
        password_hash: hash_password(password)?,
        created_at: Utc::now().naive_utc(),
        disabled: false,
    };
    engine
        .store
        .with_conn(|c| {
            if staff::by_username(c, &account.username)?.is_some() {
                return Ok(false);
            }
            staff::insert(c, &account)?;
            rightful_store::models::audit::append(
                c,
                vec![rightful_core::audit::EntryContent {
                    at: Utc::now(),
                    actor: "operator".into(),
                    action: "staff.added".into(),
                    target: format!("staff:{}", account.id),
                    reason: String::new(),
                    details: serde_json::json!({"role": account.role}),
                }],
            )?;
            Ok(true)
        })
        .map_err(EngineError::from)?
        .then_some(())
        .ok_or_else(|| {
            AuthError::Invalid(format!("a staff account named `{username}` exists already"))
        })
}

/// Checks a username and password and issues a token; the same error whatever was wrong.
pub async fn sign_in(
    engine: &Engine,
    username: &str,
    password: &str,
) -> Result<(String, Claims), AuthError> {
    let name = username.to_owned();
    let account = engine
        .store
        .run(move |c| staff::by_username(c, &name))
        .await
        .map_err(EngineError::from)?;
    let password = password.to_owned();
    // Argon2 is deliberately slow: keep it off the async workers.
    let (ok, account) = tokio::task::spawn_blocking(move || {
        let ok = account
            .as_ref()
            .is_some_and(|a| !a.disabled && password_matches(&password, &a.password_hash));
        (ok, account)
    })
    .await
    .map_err(|_| AuthError::InvalidCredentials)?;
    let (true, Some(account)) = (ok, account) else {
        return Err(AuthError::InvalidCredentials);
    };
    let role = Role::parse(&account.role).ok_or(AuthError::InvalidCredentials)?;
    let now = Utc::now().timestamp();
    let claims = Claims {
        sub: account.id,
        name: account.username,
        role,
        iss: ISSUER.into(),
        iat: now,
        exp: now + TOKEN_SECONDS,
    };
    Ok((engine.auth.issue(&claims)?, claims))
}
