//! Identity evidence that needs no e-mail code (checklist A6, A13): an ID token from the
//! configured OpenID Connect provider, or an Ed25519 signature by a registered authorised agent
//! over the exact bytes of the request.

use crate::intake::IntakeError;
use crate::settings::IdentitySettings;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use rightful_core::intake::SubjectEmail;
use serde::Deserialize;

#[derive(Deserialize)]
struct IdClaims {
    email: Option<String>,
    #[serde(default)]
    email_verified: bool,
}

fn invalid(m: &str) -> IntakeError {
    IntakeError::Invalid(m.to_owned())
}

/// The provider's keys: the JWKS file, or the JWKS address fetched and kept for
/// `oidc_jwks_cache_secs`; `refresh` fetches again (a token naming a key not in the cached set,
/// after the provider rotated its keys).
async fn provider_keys(engine: &crate::Engine, refresh: bool) -> Result<JwkSet, IntakeError> {
    let settings = &engine.settings.identity;
    let unusable = |what: &str, why: String| {
        tracing::error!(source = what, error = %why, "identity provider keys unusable");
        IntakeError::Engine(crate::EngineError::Io {
            path: what.to_owned(),
            source: std::io::Error::other("the identity provider's keys are unavailable"),
        })
    };
    if !settings.oidc_jwks_file.is_empty() {
        return std::fs::read_to_string(&settings.oidc_jwks_file)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
            .map_err(|e| unusable(&settings.oidc_jwks_file, e));
    }
    let max_age = std::time::Duration::from_secs(settings.oidc_jwks_cache_secs);
    // A forced refresh (a token naming a key we do not hold) fetches at most once per
    // `oidc_jwks_refresh_floor_secs`: anyone can send a token with a made-up key id, and each
    // must not cost a request to the provider.
    let fresh_enough = if refresh {
        std::time::Duration::from_secs(settings.oidc_jwks_refresh_floor_secs).min(max_age)
    } else {
        max_age
    };
    if let Ok(guard) = engine.jwks.lock()
        && let Some((at, keys)) = guard.as_ref()
        && at.elapsed() < fresh_enough
    {
        return Ok(keys.clone());
    }
    let url = &settings.oidc_jwks_url;
    let keys: JwkSet = async {
        crate::http_client()
            .get(url)
            .timeout(std::time::Duration::from_secs(5))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
    }
    .await
    .map_err(|e| unusable(url, e.without_url().to_string()))?;
    if let Ok(mut guard) = engine.jwks.lock() {
        *guard = Some((std::time::Instant::now(), keys.clone()));
    }
    Ok(keys)
}

/// Decodes a token of the configured provider: signed by a key of its JWKS (a file, or an
/// address fetched and cached, fetched again for a key it does not hold), right issuer and
/// `audience`, not expired.
async fn decode_provider_token<T: serde::de::DeserializeOwned>(
    engine: &crate::Engine,
    token: &str,
    audience: &str,
) -> Result<T, IntakeError> {
    let settings = &engine.settings.identity;
    if settings.oidc_issuer.is_empty()
        || audience.is_empty()
        || (settings.oidc_jwks_file.is_empty() && settings.oidc_jwks_url.is_empty())
    {
        return Err(invalid(
            "no identity provider is configured for these tokens",
        ));
    }
    let header =
        jsonwebtoken::decode_header(token).map_err(|_| invalid("the ID token is malformed"))?;
    let mut jwks = provider_keys(engine, false).await?;
    if let Some(kid) = &header.kid
        && jwks.find(kid).is_none()
        && settings.oidc_jwks_file.is_empty()
    {
        jwks = provider_keys(engine, true).await?;
    }
    let jwk = match &header.kid {
        Some(kid) => jwks.find(kid),
        None if jwks.keys.len() == 1 => jwks.keys.first(),
        None => None,
    }
    .ok_or_else(|| invalid("the ID token is signed by an unknown key"))?;
    let key =
        DecodingKey::from_jwk(jwk).map_err(|_| invalid("the provider's key is not usable"))?;
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[&settings.oidc_issuer]);
    v.set_audience(&[audience]);
    v.leeway = 30;
    jsonwebtoken::decode::<T>(token, &key, &v)
        .map(|d| d.claims)
        .map_err(|_| invalid("the ID token is not valid (signature, issuer, audience or expiry)"))
}

/// Verifies an OIDC ID token for a data subject: a token of the provider for Rightful's audience,
/// with a verified e-mail address equal to the request's.
pub async fn verify_id_token(
    engine: &crate::Engine,
    token: &str,
    email: &SubjectEmail,
) -> Result<(), IntakeError> {
    let audience = engine.settings.identity.oidc_audience.clone();
    let claims: IdClaims = decode_provider_token(engine, token, &audience).await?;
    let matches = claims
        .email
        .as_deref()
        .and_then(|e| SubjectEmail::parse(e).ok())
        .is_some_and(|e| &e == email);
    if !(claims.email_verified && matches) {
        return Err(invalid("the ID token does not prove this e-mail address"));
    }
    Ok(())
}

#[derive(Deserialize)]
struct StaffIdClaims {
    sub: String,
    #[serde(default)]
    preferred_username: Option<String>,
    iat: Option<i64>,
    exp: i64,
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

/// Verifies a staff member's token from the configured identity provider
/// (`identity.staff_oidc_audience`): its role is the `identity.staff_role_claim` claim (a string
/// or a list), `dpo` taking precedence over `auditor`; a token with neither is refused.
pub async fn verify_staff_token(
    engine: &crate::Engine,
    token: &str,
) -> Result<crate::auth::Claims, crate::auth::AuthError> {
    use crate::auth::{AuthError, Claims, Role};
    let s = &engine.settings.identity;
    if s.staff_oidc_audience.is_empty() {
        return Err(AuthError::InvalidToken);
    }
    let c: StaffIdClaims = decode_provider_token(engine, token, &s.staff_oidc_audience)
        .await
        .map_err(|_| AuthError::InvalidToken)?;
    let roles: Vec<&str> = match c.rest.get(&s.staff_role_claim) {
        Some(serde_json::Value::String(r)) => vec![r.as_str()],
        Some(serde_json::Value::Array(list)) => list.iter().filter_map(|v| v.as_str()).collect(),
        _ => Vec::new(),
    };
    let role = [Role::Dpo, Role::Auditor]
        .into_iter()
        .find(|r| roles.contains(&r.as_str()))
        .ok_or(AuthError::InvalidToken)?;
    Ok(Claims {
        name: c.preferred_username.unwrap_or_else(|| c.sub.clone()),
        sub: format!("idp:{}", c.sub),
        role,
        iss: s.oidc_issuer.clone(),
        iat: c.iat.unwrap_or(c.exp),
        exp: c.exp,
        ver: 0,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Agent {
    name: String,
    public_key: String,
    #[serde(default)]
    attests_mandates: bool,
}

/// A registered authorised agent (`<agents_dir>/<id>.toml`).
pub(crate) struct RegisteredAgent {
    /// Its name.
    pub name: String,
    /// Its Ed25519 verifying key.
    pub key: VerifyingKey,
    /// Whether the DPO accepted, when registering it, that it holds each subject's mandate and
    /// shows it on demand (A13): its signed requests then stand as the proof of authority.
    pub attests_mandates: bool,
}

/// The registered agent `id`, if there is one with a usable key.
pub(crate) fn registered_agent(settings: &IdentitySettings, id: &str) -> Option<RegisteredAgent> {
    if !rightful_core::storemap::is_identifier(id) {
        return None;
    }
    let agent: Agent = std::fs::read_to_string(settings.agents_dir.join(format!("{id}.toml")))
        .ok()
        .and_then(|t| toml::from_str(&t).ok())?;
    let key: [u8; 32] = STANDARD
        .decode(agent.public_key.trim())
        .ok()
        .and_then(|k| k.try_into().ok())?;
    Some(RegisteredAgent {
        name: agent.name,
        key: VerifyingKey::from_bytes(&key).ok()?,
        attests_mandates: agent.attests_mandates,
    })
}

/// Verifies `Rightful-Agent-Signature: agent=<id>, signature=<base64 Ed25519 over the body>`
/// against the registered agent's key; returns the agent id.
pub fn verify_agent(
    settings: &IdentitySettings,
    header: &str,
    body: &[u8],
) -> Result<String, IntakeError> {
    let mut agent = None;
    let mut signature = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("agent", v)) => agent = Some(v.trim().to_owned()),
            Some(("signature", v)) => signature = Some(v.trim().to_owned()),
            _ => {}
        }
    }
    let (Some(agent), Some(signature)) = (agent, signature) else {
        return Err(invalid(
            "the agent signature header needs agent=… and signature=…",
        ));
    };
    let registered = registered_agent(settings, &agent).ok_or_else(|| invalid("unknown agent"))?;
    let key = registered.key;
    let sig: [u8; 64] = STANDARD
        .decode(&signature)
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| invalid("the signature is not base64 of 64 bytes"))?;
    key.verify(body, &Signature::from_bytes(&sig))
        .map_err(|_| invalid("the agent signature does not match the request"))?;
    tracing::info!(agent.id = %agent, agent.name = %registered.name, "agent signature verified");
    Ok(agent)
}
