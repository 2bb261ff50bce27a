//! The Data Rights Protocol 1.0 (docs/DRP.md): registered authorised agents pair with Rightful,
//! send signed requests that enter the queue like any other, follow their status, revoke them,
//! and are told of every status change at their callback.
//!
//! A signed body is base64 (standard alphabet, padded) of a 64-byte Ed25519 signature followed by
//! the JSON bytes. The signature is checked over the bytes as received, then, in this order, the
//! agent (bound to the token, or named in the URL for set-up), `agent-id`, `business-id`, and
//! `issued-at` ≤ now < `expires-at`. A message is accepted once: a replay is refused until it
//! expires.

use crate::Engine;
use crate::intake::{IntakeError, Submission};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::Connection;
use ed25519_dalek::Signature;
use rightful_core::audit::EntryContent;
use rightful_core::lifecycle::Status;
use rightful_store::StoreError;
use rightful_store::models::drp::{self as store, DrpRequest};
use rightful_store::models::{audit, document, request};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// The protocol version served.
pub const VERSION: &str = "1.0";

/// The DRP statuses after which nothing changes.
pub const FINAL: [&str; 4] = ["fulfilled", "revoked", "denied", "expired"];

/// Why a DRP call was refused.
#[derive(Debug, thiserror::Error)]
pub enum DrpError {
    /// The body is not what the protocol says (400).
    #[error("{0}")]
    Malformed(String),
    /// The message cannot be trusted, or the request is not this agent's (403).
    #[error("{0}")]
    Forbidden(String),
    /// No such request (404).
    #[error("no such request")]
    NotFound,
    /// The request can no longer change that way (409).
    #[error("{0}")]
    Conflict(String),
    /// No `business_id` is configured (404).
    #[error("the Data Rights Protocol is not enabled on this server")]
    Disabled,
    /// The engine's store is unavailable (503); retry later.
    #[error("the service is unavailable; try again later")]
    Unavailable(String),
}

impl DrpError {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::Malformed(_) => 400,
            Self::Forbidden(_) => 403,
            Self::NotFound | Self::Disabled => 404,
            Self::Conflict(_) => 409,
            Self::Unavailable(_) => 503,
        }
    }

    /// Whether retrying the same call cannot succeed.
    pub fn fatal(&self) -> bool {
        !matches!(self, Self::Unavailable(_))
    }
}

impl From<StoreError> for DrpError {
    fn from(e: StoreError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<IntakeError> for DrpError {
    fn from(e: IntakeError) -> Self {
        match e {
            IntakeError::Invalid(m) => Self::Malformed(m),
            IntakeError::NotFound => Self::NotFound,
            other => Self::Unavailable(other.to_string()),
        }
    }
}

/// A pair-wise token issued at set-up.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Paired {
    /// The agent.
    #[serde(rename = "agent-id")]
    pub agent_id: String,
    /// Its bearer token, shown once.
    pub token: String,
}

fn sha(bytes: &[u8]) -> String {
    rightful_core::audit::hex(&Sha256::digest(bytes))
}

/// `YYYY-MM-DDTHH:MM:SS.ffffff+00:00`.
fn ts(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

/// An ISO 8601 time, with an offset or taken as UTC.
fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
                .map(|n| n.and_utc())
        })
}

fn business_id(engine: &Engine) -> Result<&str, DrpError> {
    let id = engine.settings.drp.business_id.as_str();
    if id.is_empty() {
        return Err(DrpError::Disabled);
    }
    Ok(id)
}

fn registered(engine: &Engine, agent: &str) -> Result<crate::identity::RegisteredAgent, DrpError> {
    crate::identity::registered_agent(&engine.settings.identity, agent)
        .ok_or_else(|| DrpError::Forbidden("the agent is not registered".into()))
}

/// Decodes a signed body and checks its signature over the bytes as received; returns the JSON
/// object and the body's hash.
fn open(
    key: &ed25519_dalek::VerifyingKey,
    body: &[u8],
) -> Result<(Map<String, Value>, String), DrpError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| DrpError::Malformed("the body is not base64 text".into()))?
        .trim();
    let raw = STANDARD.decode(text).map_err(|_| {
        DrpError::Malformed("the body is not base64 (standard alphabet, padded)".into())
    })?;
    let Some((sig, msg)) = raw.split_first_chunk::<64>() else {
        return Err(DrpError::Malformed(
            "the body is shorter than a 64-byte signature".into(),
        ));
    };
    key.verify_strict(msg, &Signature::from_bytes(sig))
        .map_err(|_| DrpError::Forbidden("the signature does not match the agent's key".into()))?;
    match serde_json::from_slice::<Value>(msg) {
        Ok(Value::Object(m)) => Ok((m, sha(text.as_bytes()))),
        _ => Err(DrpError::Malformed(
            "the signed message is not a JSON object".into(),
        )),
    }
}

fn text<'a>(m: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, DrpError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(DrpError::Malformed(format!("`{key}` is a string"))),
    }
}

/// The envelope checks after the signature: agent, business, time window. Returns `expires-at`.
fn envelope(
    engine: &Engine,
    m: &Map<String, Value>,
    agent: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, DrpError> {
    if text(m, "agent-id")? != Some(agent) {
        return Err(DrpError::Forbidden(
            "`agent-id` is not the agent this message comes from".into(),
        ));
    }
    if text(m, "business-id")? != Some(business_id(engine)?) {
        return Err(DrpError::Forbidden(
            "`business-id` is not this business".into(),
        ));
    }
    let time = |key: &str| -> Result<DateTime<Utc>, DrpError> {
        text(m, key)?
            .and_then(parse_time)
            .ok_or_else(|| DrpError::Malformed(format!("`{key}` is an ISO 8601 time")))
    };
    let (issued, expires) = (time("issued-at")?, time("expires-at")?);
    let skew = chrono::Duration::seconds(engine.settings.drp.clock_skew_secs.max(0));
    if issued > now + skew {
        return Err(DrpError::Forbidden("`issued-at` is in the future".into()));
    }
    if now >= expires {
        return Err(DrpError::Forbidden("the message has expired".into()));
    }
    Ok(expires)
}

fn audit_entry(actor: &str, action: &str, target: &str, details: Value) -> EntryContent {
    EntryContent {
        at: Utc::now(),
        actor: actor.to_owned(),
        action: action.to_owned(),
        target: target.to_owned(),
        reason: String::new(),
        details,
    }
}

/// `POST /v1/agent/{agent-id}`: a registered agent's signed set-up gives it a pair-wise token
/// (a new set-up replaces the old token). Each set-up message is accepted once.
pub async fn setup(
    engine: &Engine,
    agent: &str,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Paired, DrpError> {
    business_id(engine)?;
    let reg = registered(engine, agent)?;
    let (m, hash) = open(&reg.key, body)?;
    let expires = envelope(engine, &m, agent, now)?;
    let token = crate::intake::new_token();
    let (agent_s, token_hash) = (agent.to_owned(), crate::intake::token_hash(&token));
    let fresh = engine
        .store
        .run(move |c| {
            c.transaction(|c| {
                if !store::remember(c, &hash, &agent_s, expires.naive_utc(), now.naive_utc())? {
                    return Ok(false);
                }
                store::pair(c, &agent_s, &token_hash, now.naive_utc())?;
                audit::append(
                    c,
                    vec![audit_entry(
                        &format!("agent:{agent_s}"),
                        "drp.agent_paired",
                        &agent_s,
                        json!({}),
                    )],
                )?;
                Ok(true)
            })
        })
        .await?;
    if !fresh {
        return Err(DrpError::Forbidden(
            "this set-up message was already used".into(),
        ));
    }
    tracing::info!(agent.id = %agent, agent.name = %reg.name, "DRP agent paired");
    Ok(Paired {
        agent_id: agent.to_owned(),
        token,
    })
}

/// The agent a bearer token was issued to.
pub async fn authenticate(engine: &Engine, bearer: &str) -> Result<String, DrpError> {
    business_id(engine)?;
    let hash = crate::intake::token_hash(bearer);
    let agent = engine
        .store
        .run(move |c| store::agent_of(c, &hash))
        .await?
        .ok_or_else(|| DrpError::Forbidden("unknown or replaced token".into()))?;
    // An agent removed from the registry is stopped at once, whatever token it holds.
    registered(engine, &agent)?;
    Ok(agent)
}

/// `GET /v1/agent/{agent-id}`: the token is valid and belongs to that agent.
pub async fn agent_info(engine: &Engine, bearer: &str, agent: &str) -> Result<(), DrpError> {
    if authenticate(engine, bearer).await? != agent {
        return Err(DrpError::Forbidden(
            "the token belongs to another agent".into(),
        ));
    }
    Ok(())
}

/// What an exercise becomes.
enum Mapped {
    /// A request of this type with these details.
    Right(&'static str, Value),
    /// Denied at once with this DRP reason and words.
    Denied(&'static str, String),
}

fn map_exercise(engine: &Engine, exercise: &str) -> Result<Mapped, DrpError> {
    let marketing: Vec<String> = engine
        .policy
        .purposes
        .iter()
        .filter(|p| p.marketing)
        .map(|p| p.id.to_string())
        .collect();
    let no_marketing = || {
        Mapped::Denied(
            "claim_not_covered",
            "We neither sell personal data nor use it for marketing purposes other than those we list; there is nothing to opt out of or into.".into(),
        )
    };
    Ok(match exercise {
        "access" => Mapped::Right("access", json!({})),
        "deletion" => Mapped::Right("erasure", json!({})),
        "sale:opt-out" | "sale:opt_out" if marketing.is_empty() => no_marketing(),
        "sale:opt-out" | "sale:opt_out" => {
            Mapped::Right("objection", json!({"purposes": marketing}))
        }
        "sale:opt-in" | "sale:opt_in" if marketing.is_empty() => no_marketing(),
        "sale:opt-in" | "sale:opt_in" => Mapped::Right(
            "objection",
            json!({"purposes": marketing, "withdraw": true}),
        ),
        "access:categories" | "access:specific" => Mapped::Denied(
            "claim_not_covered",
            "Ask for `access`: under the GDPR (Art. 15) it covers both the categories and a copy of the data.".into(),
        ),
        other => {
            return Err(DrpError::Malformed(format!(
                "unknown exercise `{}`: access, deletion, sale:opt-out, sale:opt-in, access:categories or access:specific",
                other.chars().take(40).collect::<String>()
            )));
        }
    })
}

/// The subject's names: `given_name` and `family_name` when given, else `name` split at its last
/// space.
fn names(m: &Map<String, Value>) -> Result<(Option<String>, Option<String>), DrpError> {
    let (given, family) = (text(m, "given_name")?, text(m, "family_name")?);
    if given.is_some() || family.is_some() {
        return Ok((given.map(str::to_owned), family.map(str::to_owned)));
    }
    Ok(match text(m, "name")?.map(str::trim) {
        Some(full) => match full.rsplit_once(char::is_whitespace) {
            Some((first, last)) => (Some(first.trim().to_owned()), Some(last.to_owned())),
            None => (None, Some(full.to_owned())),
        },
        None => (None, None),
    })
}

/// The `address` claim (OpenID Connect address object, or text) in one line.
fn address(m: &Map<String, Value>) -> Option<String> {
    match m.get("address")? {
        Value::String(s) => Some(s.clone()),
        Value::Object(a) => a
            .get("formatted")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| {
                let parts: Vec<&str> = [
                    "street_address",
                    "locality",
                    "region",
                    "postal_code",
                    "country",
                ]
                .iter()
                .filter_map(|k| a.get(*k).and_then(Value::as_str))
                .collect();
                (!parts.is_empty()).then(|| parts.join(", "))
            }),
        _ => None,
    }
}

/// A `power_of_attorney` claim carrying the document itself: base64 (or a `data:` URL) of a
/// PDF, PNG or JPEG.
fn mandate_document(claim: &str) -> Option<(&'static str, Vec<u8>)> {
    let b64 = claim
        .split_once(";base64,")
        .map_or(claim, |(_, d)| d)
        .trim();
    let bytes = STANDARD.decode(b64).ok()?;
    let kind = if bytes.starts_with(b"%PDF-") {
        "application/pdf"
    } else if bytes.starts_with(b"\x89PNG") {
        "image/png"
    } else if bytes.starts_with(b"\xFF\xD8\xFF") {
        "image/jpeg"
    } else {
        return None;
    };
    Some((kind, bytes))
}

fn callback(engine: &Engine, m: &Map<String, Value>) -> Result<Option<String>, DrpError> {
    let Some(url) = text(m, "status_callback")? else {
        return Ok(None);
    };
    let plain = engine.settings.drp.allow_plain_http_callbacks && url.starts_with("http://");
    if !(url.starts_with("https://") || plain)
        || url.len() > 2000
        || url.contains(char::is_whitespace)
        || reqwest::Url::parse(url).is_err()
    {
        return Err(DrpError::Malformed(
            "`status_callback` is an https:// address".into(),
        ));
    }
    Ok(Some(url.to_owned()))
}

/// `POST /v1/data-rights-request`: a signed exercise from the token's agent. `access` becomes an
/// access request (Art. 15), `deletion` an erasure (Art. 17), `sale:opt-out` an objection to
/// direct marketing (Art. 21(2)) and `sale:opt-in` its withdrawal; they enter the queue like any
/// other request. Returns the status object.
pub async fn exercise(
    engine: &Engine,
    bearer: &str,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Value, DrpError> {
    let agent = authenticate(engine, bearer).await?;
    let reg = registered(engine, &agent)?;
    let (m, hash) = open(&reg.key, body)?;
    let expires = envelope(engine, &m, &agent, now)?;
    if text(&m, "drp.version")? != Some(VERSION) {
        return Err(DrpError::Malformed(format!(
            "`drp.version` is \"{VERSION}\""
        )));
    }
    let exercise =
        text(&m, "exercise")?.ok_or_else(|| DrpError::Malformed("`exercise` is missing".into()))?;
    let mapped = map_exercise(engine, exercise)?;
    let status_callback = callback(engine, &m)?;
    let agent_request_id = text(&m, "agent-request-id")?.map(str::to_owned);
    let regime = text(&m, "regime")?.map(str::to_owned);
    if agent_request_id.as_ref().is_some_and(|a| a.len() > 200)
        || regime.as_ref().is_some_and(|r| r.len() > 40)
    {
        return Err(DrpError::Malformed(
            "`agent-request-id` or `regime` is too long".into(),
        ));
    }
    // Accepted once: a replay is refused until the message expires. The message is recorded
    // with the DRP request, in one transaction, so a failure on the way lets the agent retry.
    let h2 = hash.clone();
    if engine
        .store
        .run(move |c| store::seen(c, &h2, now.naive_utc()))
        .await?
    {
        return Err(DrpError::Forbidden(
            "this request was already received".into(),
        ));
    }
    let seen = Seen {
        hash,
        expires: expires.naive_utc(),
    };
    // The signed message is the proof of authority of an agent that attests its mandates (A13);
    // otherwise only its hash is kept (a mandate sent along is checked and deleted, A7).
    let signed = if reg.attests_mandates {
        String::from_utf8_lossy(body).trim().to_owned()
    } else {
        format!("sha256:{}", seen.hash)
    };
    let mut row = DrpRequest {
        id: uuid::Uuid::new_v4().to_string(),
        agent_id: agent.clone(),
        request_id: None,
        agent_request_id,
        exercise: exercise.to_owned(),
        regime,
        status_callback,
        signed,
        received_at: now.naive_utc(),
        denied_reason: None,
        processing_details: None,
        pushed: None,
        push_attempts: 0,
        next_push_at: None,
        updated_at: now.naive_utc(),
    };
    let actor = format!("agent:{agent}");
    let denial = match (&mapped, m.get("email_verified")) {
        (Mapped::Denied(reason, words), _) => Some((*reason, words.clone())),
        (Mapped::Right(..), Some(Value::Bool(true))) => None,
        (Mapped::Right(..), _) => Some((
            "insuf_verification",
            "The agent must verify the subject's e-mail address and say so (`email_verified`: true).".to_owned(),
        )),
    };
    if let Some((reason, words)) = denial {
        row.denied_reason = Some(reason.to_owned());
        row.processing_details = Some(words);
        let status = answered(engine, &mut row).await?;
        let details = json!({"exercise": row.exercise, "reason": row.denied_reason});
        store_row(engine, row, &seen, &actor, "drp.request_denied", details).await?;
        return Ok(status);
    }
    let Mapped::Right(kind, details) = mapped else {
        return Err(DrpError::Malformed("unsupported exercise".into()));
    };
    let email = text(&m, "email")?
        .ok_or_else(|| DrpError::Malformed("the request needs the subject's `email`".into()))?;
    let (first_name, last_name) = names(&m)?;
    let submission = Submission {
        kind: Some(kind.into()),
        text: None,
        email: email.to_owned(),
        last_name,
        first_name,
        postal_address: address(&m),
        language: None,
        details,
        id_token: None,
    };
    let mandate = text(&m, "power_of_attorney")?.and_then(mandate_document);
    let accepted =
        crate::intake::submit_from(engine, submission, "drp", now, Some(agent.clone())).await?;
    row.id = accepted.id.clone();
    row.request_id = Some(accepted.id.clone());
    // A13: the agent's authority. An agent the DPO registered as holding its mandates attests to
    // it with this signed message, kept as proof; otherwise the mandate travels in the request
    // (`power_of_attorney`) for the DPO to check, or is still awaited.
    if let (false, Some((content_type, bytes))) = (reg.attests_mandates, mandate) {
        // A repeat is answered with the request it repeats: the mandate goes to that one, when
        // this agent manages it.
        let target = match &accepted.duplicate_of {
            None => Some(accepted.id.clone()),
            Some(first) => {
                let first2 = first.clone();
                engine
                    .store
                    .run(move |c| store::for_request(c, &first2))
                    .await?
                    .filter(|d| d.agent_id == agent)
                    .map(|_| first.clone())
            }
        };
        if let Some(target) = target {
            let upload = crate::documents::Upload {
                kind: "mandate",
                content_type,
                content: bytes,
            };
            if let Err(e) =
                crate::documents::upload_for_agent(engine, &target, &agent, upload, now).await
            {
                tracing::warn!(request.id = %target, error = %e, "the DRP mandate could not be stored");
            }
        }
    }
    if reg.attests_mandates {
        let (id, actor2) = (row.id.clone(), actor.clone());
        let method = format!(
            "attested by the registered agent `{agent}` ({}) under the terms it was registered on; its signed request is kept",
            reg.name
        );
        let at = now.naive_utc();
        engine
            .store
            .run(move |c| {
                c.transaction(|c| {
                    if document::attest(c, &id, "mandate", &actor2, &method, at)? {
                        audit::append(
                            c,
                            vec![audit_entry(
                                &actor2,
                                "document.attested",
                                &id,
                                json!({"kind": "mandate"}),
                            )],
                        )?;
                    }
                    Ok(())
                })
            })
            .await?;
    }
    // The answer is recorded as pushed with the row, so the callback loop never sends it again.
    let status = answered(engine, &mut row).await?;
    // The agent's own id stays out of the trail: agents may build it from anything.
    let regime = match row.regime.as_deref() {
        None => None,
        Some(r @ ("gdpr" | "ccpa" | "voluntary")) => Some(r),
        Some(_) => Some("other"),
    };
    let details = json!({"exercise": row.exercise, "regime": regime});
    store_row(engine, row, &seen, &actor, "drp.request_received", details).await?;
    Ok(status)
}

/// A signed message to record as accepted.
struct Seen {
    hash: String,
    expires: NaiveDateTime,
}

/// Stores a new DRP request with its audit entry and the record of its message, in one
/// transaction.
async fn store_row(
    engine: &Engine,
    row: DrpRequest,
    seen: &Seen,
    actor: &str,
    action: &'static str,
    details: Value,
) -> Result<(), DrpError> {
    let (actor, hash, expires) = (actor.to_owned(), seen.hash.clone(), seen.expires);
    let fresh = engine
        .store
        .run(move |c| {
            c.transaction(|c| {
                if !store::remember(c, &hash, &row.agent_id, expires, row.received_at)? {
                    return Ok(false);
                }
                store::insert(c, &row)?;
                audit::append(c, vec![audit_entry(&actor, action, &row.id, details)])?;
                Ok(true)
            })
        })
        .await?;
    if !fresh {
        return Err(DrpError::Forbidden(
            "this request was already received".into(),
        ));
    }
    Ok(())
}

/// The status a new DRP request is answered with, recorded as already pushed (set on the row
/// before it is stored): the agent has it in the answer.
async fn answered(engine: &Engine, row: &mut DrpRequest) -> Result<Value, DrpError> {
    let status = build_status(engine, row).await?;
    if row.status_callback.is_some() {
        row.pushed = Some(status.to_string());
    }
    Ok(status)
}

async fn owned(engine: &Engine, bearer: &str, id: &str) -> Result<DrpRequest, DrpError> {
    let agent = authenticate(engine, bearer).await?;
    let id = id.to_owned();
    let row = engine
        .store
        .run(move |c| store::find(c, &id))
        .await?
        .ok_or(DrpError::NotFound)?;
    if row.agent_id != agent {
        return Err(DrpError::Forbidden(
            "this request belongs to another agent".into(),
        ));
    }
    Ok(row)
}

/// `GET /v1/data-rights-request/{id}`: the status object, for the agent managing the request.
pub async fn status(engine: &Engine, bearer: &str, id: &str) -> Result<Value, DrpError> {
    let row = owned(engine, bearer, id).await?;
    build_status(engine, &row).await
}

/// `DELETE /v1/data-rights-request/{id}`: the agent revokes a request, with a signed
/// `{"reason": …}`, while the DPO has not approved it yet.
pub async fn revoke(
    engine: &Engine,
    bearer: &str,
    id: &str,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Value, DrpError> {
    let row = owned(engine, bearer, id).await?;
    let reg = registered(engine, &row.agent_id)?;
    let (m, hash) = open(&reg.key, body)?;
    // A revocation is `{"reason": …}`; another signed message of the agent (an exercise, a
    // set-up) is not one, and a revocation that carries an envelope must pass its checks.
    if m.contains_key("exercise") || m.contains_key("drp.version") {
        return Err(DrpError::Malformed(
            "a revocation is a signed `{\"reason\": …}`".into(),
        ));
    }
    if ["agent-id", "business-id", "issued-at", "expires-at"]
        .iter()
        .any(|k| m.contains_key(*k))
    {
        envelope(engine, &m, &row.agent_id, now)?;
    }
    let reason = text(&m, "reason")?.unwrap_or("").trim().to_owned();
    if reason.chars().count() > 1000 {
        return Err(DrpError::Malformed("`reason` is too long".into()));
    }
    let Some(request_id) = row.request_id.clone() else {
        return Err(DrpError::Conflict("the request is already denied".into()));
    };
    let actor = format!("agent:{}", row.agent_id);
    let details = if reason.is_empty() {
        "Revoked at the request of the authorised agent.".to_owned()
    } else {
        format!("Revoked at the request of the authorised agent: {reason}")
    };
    let (drp_id, agent) = (row.id.clone(), row.agent_id.clone());
    // A revocation message has no expiry of its own: it is accepted once, ever.
    let keep = far_future().and_utc();
    let outcome = engine
        .store
        .run(move |c| {
            c.transaction(|c| {
                if !store::remember(c, &hash, &agent, keep.naive_utc(), now.naive_utc())? {
                    return Ok(Err(DrpError::Forbidden(
                        "this revocation was already received".into(),
                    )));
                }
                let at = now.naive_utc();
                // Once approved, the request is being carried out: it runs to its end. The
                // status is checked and changed in one step, so an approval meanwhile wins.
                let open = [
                    Status::Received,
                    Status::IdentityPending,
                    Status::AwaitingReview,
                    Status::Extended,
                ];
                if let Err(e) = request::transition_from(
                    c,
                    &request_id,
                    &open,
                    Status::Withdrawn,
                    &actor,
                    "revoked by the authorised agent",
                    at,
                )? {
                    return Ok(Err(DrpError::Conflict(format!(
                        "the request is {} and can no longer be revoked",
                        e.from.as_str()
                    ))));
                }
                store::set_details(c, &drp_id, &details, at)?;
                audit::append(
                    c,
                    vec![audit_entry(
                        &actor,
                        "request.withdrawn",
                        &request_id,
                        json!({"via": "drp"}),
                    )],
                )?;
                Ok(Ok(()))
            })
        })
        .await?;
    outcome?;
    status(engine, bearer, id).await
}

/// The request's result, for the agent managing it: the id of the request whose stored ZIP may
/// be downloaded (read with [`crate::execution::result_chunk`]) and its size.
pub async fn result(engine: &Engine, bearer: &str, id: &str) -> Result<(String, i64), DrpError> {
    let row = owned(engine, bearer, id).await?;
    let Some(rid) = row.request_id else {
        return Err(DrpError::NotFound);
    };
    let rid = engine.store.run(move |c| Ok(answering(c, &rid)?.0)).await?;
    use crate::execution::Download;
    match crate::execution::download(engine, &rid, Utc::now().naive_utc())
        .await
        .map_err(|e| DrpError::Unavailable(e.to_string()))?
    {
        Download::Ready { size, .. } => Ok((rid, size)),
        Download::NotReady(_) => Err(DrpError::Conflict(
            "the request is not fulfilled yet".into(),
        )),
        Download::Expired => Err(DrpError::Conflict("the download has expired".into())),
        Download::Missing => Err(DrpError::NotFound),
    }
}

/// The request that answers `id`: the one it repeats, if it is a repeat (and whether it is).
fn answering(c: &mut rightful_store::DbConn, id: &str) -> Result<(String, bool), StoreError> {
    Ok(
        match request::subject(c, id)?.and_then(|s| s.duplicate_of) {
            Some(first) => (first, true),
            None => (id.to_owned(), false),
        },
    )
}

fn public_url(engine: &Engine) -> String {
    let p = engine.settings.drp.public_url.trim_end_matches('/');
    if p.is_empty() {
        format!("http://{}", engine.settings.server.listen)
    } else {
        p.to_owned()
    }
}

/// The status object of a DRP request, from the request in the queue.
async fn build_status(engine: &Engine, row: &DrpRequest) -> Result<Value, DrpError> {
    let mut st = json!({
        "request_id": row.id,
        "received_at": ts(row.received_at),
        "status": "denied",
        "reason": "",
    });
    if let Some(a) = &row.agent_request_id {
        st["agent_request_id"] = a.clone().into();
    }
    let Some(rid) = row.request_id.clone() else {
        st["reason"] = row
            .denied_reason
            .clone()
            .unwrap_or_else(|| "other".into())
            .into();
        if let Some(d) = &row.processing_details {
            st["processing_details"] = d.clone().into();
        }
        return Ok(st);
    };
    let (found, (unsettled, repeat)) = engine
        .store
        .run(move |c| {
            // A repeat is answered with the request it repeats: its status is that one's.
            let (rid, repeat) = answering(c, &rid)?;
            let found = request::find(c, &rid)?;
            let unsettled = crate::documents::unsettled(c, &rid)?;
            Ok((found, (unsettled, repeat)))
        })
        .await?;
    let found = found.ok_or(DrpError::NotFound)?;
    let expected_by = format!("{}T23:59:59+00:00", found.due_on);
    let status = found.status()?;
    let extended = "The response period was extended by two further months (GDPR Art. 12(3)); the subject was told why by e-mail.";
    let (state, reason, details): (&str, &str, Option<String>) = match status {
        Status::Received => ("open", "", None),
        Status::IdentityPending => (
            "in_progress",
            "need_user_verification",
            Some("The data protection officer needs the subject to confirm their identity; the subject was told by e-mail what to send.".into()),
        ),
        Status::AwaitingReview
        | Status::Extended
        | Status::Approved
        | Status::InProgress
        | Status::Paused
        | Status::Failed => {
            if unsettled.iter().any(|k| k == "mandate") {
                (
                    "in_progress",
                    "need_user_verification",
                    Some("A mandate signed by the data subject is needed before anything is disclosed or changed (GDPR Art. 12(6)): send a new request carrying it in `power_of_attorney` (base64 of a PDF, PNG or JPEG).".into()),
                )
            } else {
                ("in_progress", "", found.extended.then(|| extended.to_owned()))
            }
        }
        Status::Completed => ("fulfilled", "", None),
        Status::Denied => (
            "denied",
            "other",
            Some("The request was refused; the subject was told the reasons, and how to complain to the supervisory authority or to a court, by e-mail (GDPR Art. 12(4)).".into()),
        ),
        Status::Withdrawn => ("revoked", "", row.processing_details.clone()),
    };
    st["status"] = state.into();
    st["reason"] = reason.into();
    let details = match (details, repeat) {
        (Some(d), _) => Some(d),
        (None, true) => Some("The same request from the same subject was already open: this one is answered with it.".to_owned()),
        (None, false) => None,
    };
    if let Some(d) = details {
        st["processing_details"] = d.into();
    }
    if !FINAL.contains(&state) {
        st["expected_by"] = expected_by.into();
    }
    if status == Status::Completed
        && let crate::execution::Download::Ready { until, .. } =
            crate::execution::download(engine, &found.id, Utc::now().naive_utc())
                .await
                .map_err(|e| DrpError::Unavailable(e.to_string()))?
    {
        st["results_url"] = format!(
            "{}/v1/data-rights-request/{}/result",
            public_url(engine),
            row.id
        )
        .into();
        st["expires_at"] = ts(until).into();
    }
    Ok(st)
}

fn far_future() -> NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default()
}

/// Pushes every status that changed since it was last pushed to its agent's callback (best
/// effort: a failure is retried with backoff, then given up; the request never waits on it).
/// Returns how many pushes succeeded.
pub async fn push_due(engine: &Engine, now: DateTime<Utc>) -> Result<usize, DrpError> {
    if engine.settings.drp.business_id.is_empty() {
        return Ok(0);
    }
    let at = now.naive_utc();
    let rows = engine.store.run(move |c| store::due_pushes(c, at)).await?;
    let mut sent = 0;
    for row in rows {
        let Some(url) = row.status_callback.clone() else {
            continue;
        };
        // One request that cannot be read never holds back the others.
        let st = match build_status(engine, &row).await {
            Ok(st) => st,
            Err(e) => {
                tracing::warn!(drp.request = %row.id, error = %e, "DRP status could not be built");
                continue;
            }
        };
        let text = st.to_string();
        let done = FINAL.contains(&st["status"].as_str().unwrap_or(""));
        let next = done.then(far_future);
        if row.pushed.as_deref() == Some(text.as_str()) {
            if done {
                let id = row.id.clone();
                engine
                    .store
                    .run(move |c| store::set_pushed(c, &id, Some(&text), 0, next))
                    .await?;
            }
            continue;
        }
        let answer = crate::http_client()
            .post(&url)
            .timeout(std::time::Duration::from_secs(10))
            .header("Content-Type", "application/json")
            .body(text.clone())
            .send()
            .await;
        let ok = answer.as_ref().is_ok_and(|r| r.status().is_success());
        let code = answer.as_ref().map(|r| r.status().as_u16()).unwrap_or(0);
        let attempts = row.push_attempts + 1;
        let give_up = !ok && attempts >= engine.settings.drp.callback_attempts;
        let (id, agent, state) = (
            row.id.clone(),
            row.agent_id.clone(),
            st["status"].as_str().unwrap_or("").to_owned(),
        );
        let target = row.request_id.clone().unwrap_or_else(|| row.id.clone());
        let backoff = chrono::Duration::seconds(1 << attempts.clamp(0, 12));
        engine
            .store
            .run(move |c| {
                if ok || give_up {
                    store::set_pushed(c, &id, Some(&text), 0, next)?;
                    audit::append(
                        c,
                        vec![audit_entry(
                            "system",
                            if ok { "drp.status_pushed" } else { "drp.callback_failed" },
                            &target,
                            json!({"agent": agent, "status": state, "http_status": code, "attempts": attempts}),
                        )],
                    )?;
                } else {
                    store::set_pushed(c, &id, row.pushed.as_deref(), attempts, Some(at + backoff))?;
                }
                Ok(())
            })
            .await?;
        if ok {
            sent += 1;
        } else {
            engine.metrics.drp_callback_failed();
            tracing::warn!(drp.request = %row.id, http_status = code, attempt = attempts, "DRP status callback failed");
        }
    }
    Ok(sent)
}

/// The server's callback loop: pushes status changes every `callback_poll_ms`.
pub async fn run_callbacks(engine: Engine) {
    let every = std::time::Duration::from_millis(engine.settings.drp.callback_poll_ms.max(50));
    loop {
        if let Err(e) = push_due(&engine, Utc::now()).await {
            tracing::warn!(error = %e, "DRP callbacks could not be pushed");
        }
        tokio::time::sleep(every).await;
    }
}
