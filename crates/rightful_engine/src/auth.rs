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
    /// The account's token version when issued: disabling, removing the account or changing
    /// its password bumps it, and every older token stops working at once.
    #[serde(default)]
    pub ver: i32,
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

/// A hash of no one's password, checked for unknown and disabled accounts so that signing in
/// takes the same time whether the username exists or not (issue 12 item 4).
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_password("no account has this password; it only costs time").unwrap_or_default()
    })
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
        token_version: 0,
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

/// Checks a username and password and issues a token; the same error, in the same time,
/// whatever was wrong. Repeated failures for one username make it wait, doubling
/// (`[limits] signin_*`), whether the account exists or not.
pub async fn sign_in(
    engine: &Engine,
    username: &str,
    password: &str,
) -> Result<(String, Claims), SignInError> {
    let limits = &engine.settings.limits;
    let key = username.trim().to_lowercase();
    engine.limits.signin_wait(&key, std::time::Instant::now())?;
    let name = username.to_owned();
    let account = engine
        .store
        .run(move |c| staff::by_username(c, &name))
        .await
        .map_err(|e| AuthError::Engine(e.into()))?;
    let password = password.to_owned();
    // Argon2 is deliberately slow: keep it off the async workers. An unknown or disabled account
    // is checked against a dummy hash, so the time does not tell which usernames exist.
    let (ok, account) = tokio::task::spawn_blocking(move || {
        let usable = account.as_ref().filter(|a| !a.disabled);
        let phc = usable.map_or(dummy_hash(), |a| a.password_hash.as_str());
        let ok = password_matches(&password, phc) && usable.is_some();
        (ok, account)
    })
    .await
    .map_err(|_| AuthError::InvalidCredentials)?;
    let (true, Some(account)) = (ok, account) else {
        engine.limits.signin_failed(
            &key,
            limits.signin_failures,
            std::time::Duration::from_secs(limits.signin_backoff_secs),
            std::time::Duration::from_secs(limits.signin_backoff_max_secs),
            std::time::Instant::now(),
        );
        return Err(AuthError::InvalidCredentials.into());
    };
    engine.limits.signin_succeeded(&key);
    let role = Role::parse(&account.role).ok_or(AuthError::InvalidCredentials)?;
    let now = Utc::now().timestamp();
    let claims = Claims {
        sub: account.id,
        name: account.username,
        role,
        iss: ISSUER.into(),
        iat: now,
        exp: now + TOKEN_SECONDS,
        ver: account.token_version,
    };
    Ok((engine.auth.issue(&claims)?, claims))
}

/// Why signing in was refused.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Wrong credentials, or the engine.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// Too many failures: wait.
    #[error(transparent)]
    Limited(#[from] crate::limits::Limited),
}

/// Whether a token Rightful issued still stands: its account exists, is enabled, has the same
/// role and the same token version. Tokens of the identity provider (`idp:` subjects) are the
/// provider's to revoke.
pub async fn session_valid(engine: &Engine, claims: &Claims) -> Result<bool, EngineError> {
    if claims.sub.starts_with("idp:") {
        return Ok(true);
    }
    let id = claims.sub.clone();
    let account = engine.store.run(move |c| staff::by_id(c, &id)).await?;
    Ok(account.is_some_and(|a| {
        !a.disabled && a.token_version == claims.ver && a.role == claims.role.as_str()
    }))
}

/// A staff account as `rightful staff list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct StaffView {
    /// Login name.
    pub username: String,
    /// Role.
    pub role: String,
    /// Whether it is disabled.
    pub disabled: bool,
    /// Created, UTC.
    pub created_at: chrono::NaiveDateTime,
}

/// Every staff account.
pub fn list_staff(engine: &Engine) -> Result<Vec<StaffView>, AuthError> {
    Ok(engine
        .store
        .with_conn(staff::list)
        .map_err(EngineError::from)?
        .into_iter()
        .map(|a| StaffView {
            username: a.username,
            role: a.role,
            disabled: a.disabled,
            created_at: a.created_at,
        })
        .collect())
}

/// What `rightful staff` changes about an account.
#[derive(Debug, Clone)]
pub enum StaffChange {
    /// Disable: cannot sign in; every token stops working at once.
    Disable,
    /// Enable again (older tokens stay revoked).
    Enable,
    /// Remove the account; every token stops working at once.
    Remove,
    /// A new password; every token stops working at once.
    Password(String),
}

/// Changes a staff account, audited as done by the operator.
pub fn change_staff(engine: &Engine, username: &str, change: StaffChange) -> Result<(), AuthError> {
    let new_hash = match &change {
        StaffChange::Password(p) if p.chars().count() < 12 => {
            return Err(AuthError::Invalid(
                "a staff password needs at least 12 characters".into(),
            ));
        }
        StaffChange::Password(p) => Some(hash_password(p)?),
        _ => None,
    };
    let name = username.to_owned();
    let found = engine
        .store
        .with_conn(move |c| {
            let Some(account) = staff::by_username(c, &name)? else {
                return Ok(false);
            };
            let action = match &change {
                StaffChange::Disable => {
                    staff::set_disabled(c, &account.id, true)?;
                    "staff.disabled"
                }
                StaffChange::Enable => {
                    staff::set_disabled(c, &account.id, false)?;
                    "staff.enabled"
                }
                StaffChange::Remove => {
                    staff::remove(c, &account.id)?;
                    "staff.removed"
                }
                StaffChange::Password(_) => {
                    staff::set_password(c, &account.id, new_hash.as_deref().unwrap_or_default())?;
                    "staff.password_changed"
                }
            };
            rightful_store::models::audit::append(
                c,
                vec![rightful_core::audit::EntryContent {
                    at: Utc::now(),
                    actor: "operator".into(),
                    action: action.into(),
                    target: format!("staff:{}", account.id),
                    reason: String::new(),
                    details: serde_json::json!({"role": account.role, "tokens_revoked": true}),
                }],
            )?;
            Ok(true)
        })
        .map_err(EngineError::from)?;
    found
        .then_some(())
        .ok_or_else(|| AuthError::Invalid(format!("no staff account is named `{username}`")))
}
