//! Requests in (checklist A1, A2, A12, A14): a request is accepted whatever its wording, gets an
//! immutable receipt time, its due date, a per-request token for the subject (only its hash is
//! stored), and an acknowledgement of receipt signed by Rightful. A repeat of an open request of
//! the same type from the same address within 24 hours is linked to the first, not run twice.
//! The DPO's decisions go through the core lifecycle and are written to the audit trail.

use crate::{Engine, EngineError};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::Connection;
use rightful_core::audit::{EntryContent, hex};
use rightful_core::deadline::{Clock, ExtensionReason};
use rightful_core::intake::{RequestType, SubjectEmail, classify};
use rightful_core::lifecycle::Status;
use rightful_store::models::{audit, request};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How long a repeat is treated as a duplicate.
pub const DUPLICATE_WINDOW_HOURS: i64 = 24;

/// A submission, as received.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// The type, when the form says; otherwise it is classified from `text`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// The subject's own words.
    #[serde(default)]
    pub text: Option<String>,
    /// The subject's e-mail address.
    pub email: String,
    /// The subject's name.
    #[serde(default)]
    pub name: Option<String>,
    /// New values for a rectification, grounds for an objection, purposes in scope, …
    #[serde(default)]
    pub details: serde_json::Value,
    /// An ID token from the configured OpenID Connect provider: proves the address at once (A6).
    #[serde(default)]
    pub id_token: Option<String>,
}

/// An accepted request.
#[derive(Debug, Clone, Serialize)]
pub struct Accepted {
    /// Request id.
    pub id: String,
    /// The subject's token for this request, shown once.
    pub token: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: RequestType,
    /// Status.
    pub status: Status,
    /// Receipt time (A1).
    pub received_at: DateTime<Utc>,
    /// Due date (A2).
    pub due_on: NaiveDate,
    /// The acknowledgement of receipt, a JWS signed by Rightful (A12).
    pub acknowledgement: String,
    /// The earlier request this one repeats, if any.
    pub duplicate_of: Option<String>,
}

/// The claims of an acknowledgement of receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    /// The controller.
    pub iss: String,
    /// The request id.
    pub sub: String,
    /// `rightful.acknowledgement`.
    pub typ: String,
    /// The request type.
    pub request_type: String,
    /// Receipt, RFC 3339.
    pub received_at: String,
    /// Due date.
    pub due_on: String,
    /// `from <day> to <day>`, told to the subject (A12).
    pub period: String,
    /// Issued at.
    pub iat: i64,
}

/// Why a submission or a decision was refused.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// Bad input, in plain words (never echoing personal data).
    #[error("{0}")]
    Invalid(String),
    /// No such request (or a token for another request).
    #[error("no such request")]
    NotFound,
    /// The lifecycle forbids this step.
    #[error(transparent)]
    Transition(#[from] rightful_core::lifecycle::InvalidTransition),
    /// A wrong, expired or used identity code.
    #[error("{0}")]
    Code(String),
    /// An extension refused (A4).
    #[error(transparent)]
    Extension(#[from] rightful_core::deadline::ExtensionError),
    /// The engine.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<rightful_store::StoreError> for IntakeError {
    fn from(e: rightful_store::StoreError) -> Self {
        Self::Engine(e.into())
    }
}

fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn new_token() -> String {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

/// Accepts a request received at `now` through `channel`.
pub async fn submit(
    engine: &Engine,
    s: Submission,
    channel: &str,
    now: DateTime<Utc>,
) -> Result<Accepted, IntakeError> {
    submit_from(engine, s, channel, now, None).await
}

/// Accepts a request, `agent` being the id of a registered agent whose signature over the body
/// the caller has verified ([`crate::identity::verify_agent`]).
pub async fn submit_from(
    engine: &Engine,
    s: Submission,
    channel: &str,
    now: DateTime<Utc>,
    agent: Option<String>,
) -> Result<Accepted, IntakeError> {
    let email = SubjectEmail::parse(&s.email).map_err(IntakeError::Invalid)?;
    // Evidence that needs no e-mail code (A6), checked before anything is stored.
    let evidence: Option<(&'static str, Option<String>)> = match (&agent, &s.id_token) {
        (Some(a), _) => Some(("agent_signature", Some(a.clone()))),
        (None, Some(t)) => {
            crate::identity::verify_id_token(&engine.settings.identity, t, &email, now)?;
            Some(("oidc", None))
        }
        (None, None) => None,
    };
    let kind = match (&s.kind, &s.text) {
        (Some(k), _) => RequestType::parse(k)
            .ok_or_else(|| IntakeError::Invalid(format!("unknown request type `{k}`")))?,
        (None, Some(text)) if !text.trim().is_empty() => classify(text),
        _ => {
            return Err(IntakeError::Invalid(
                "say which right you exercise (`type`) or describe your request (`text`)".into(),
            ));
        }
    };
    if s.text.as_ref().is_some_and(|t| t.len() > 20_000)
        || s.name.as_ref().is_some_and(|n| n.len() > 200)
    {
        return Err(IntakeError::Invalid(
            "the text or the name is too long".into(),
        ));
    }
    let received = now.date_naive();
    let due_on = Clock::new(received).due(&engine.settings.deadlines, received);
    let id = uuid::Uuid::new_v4().to_string();
    let token = new_token();
    let mut details = if s.details.is_null() {
        serde_json::json!({})
    } else {
        s.details.clone()
    };
    if let (Some(text), Some(map)) = (&s.text, details.as_object_mut()) {
        map.insert("text".into(), serde_json::Value::String(text.clone()));
    }
    let ack = Acknowledgement {
        iss: engine.policy.controller.party.name.clone(),
        sub: id.clone(),
        typ: "rightful.acknowledgement".into(),
        request_type: kind.as_str().into(),
        received_at: now.to_rfc3339(),
        due_on: due_on.to_string(),
        period: format!("from {received} to {due_on}"),
        iat: now.timestamp(),
    };
    let acknowledgement = engine
        .signer
        .sign(&ack)
        .ok_or_else(|| IntakeError::Invalid("cannot sign the acknowledgement".into()))?;
    let (req_id, email_s, name, channel_s) = (
        id.clone(),
        email.as_ref().to_owned(),
        s.name.clone(),
        channel.to_owned(),
    );
    let hash = token_hash(&token);
    let duplicate_of = engine
        .store
        .run(move |c| {
            let since = (now - chrono::Duration::hours(DUPLICATE_WINDOW_HOURS)).naive_utc();
            let duplicate_of = request::recent_open(c, &email_s, kind.as_str(), since)?.map(|r| r.id);
            let at = now.naive_utc();
            request::insert_with_subject(
                c,
                &request::NewRequest { id: &req_id, kind: kind.as_str(), status: Status::Received.as_str(), channel: &channel_s, received_at: at, due_on, extended: false, updated_at: at },
                &request::RequestSubject { request_id: req_id.clone(), email: email_s, name, details: details.to_string(), token_hash: hash, duplicate_of: duplicate_of.clone() },
                "subject",
            )?;
            audit::append(
                c,
                vec![EntryContent {
                    at: now,
                    actor: "subject".into(),
                    action: "request.received".into(),
                    target: req_id.clone(),
                    reason: String::new(),
                    details: serde_json::json!({"type": kind.as_str(), "channel": channel_s, "due_on": due_on, "duplicate_of": duplicate_of}),
                }],
            )?;
            Ok(duplicate_of)
        })
        .await?;
    tracing::info!(request.id = %id, request.type = kind.as_str(), "request received");
    // A repeat is linked to the first request and not run again: no new identity check.
    let status = match (&duplicate_of, evidence) {
        (Some(_), _) => Status::Received,
        (None, Some((method, agent))) => mark_verified(engine, &id, method, agent, now).await?,
        (None, None) => send_code(engine, &id, email.as_ref(), now).await,
    };
    Ok(Accepted {
        id,
        token,
        kind,
        status,
        received_at: now,
        due_on,
        acknowledgement,
        duplicate_of,
    })
}

/// What the subject sees of their request.
#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    /// Request id.
    pub id: String,
    /// Type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Status.
    pub status: String,
    /// Receipt.
    pub received_at: chrono::NaiveDateTime,
    /// Due date in force.
    pub due_on: NaiveDate,
    /// Whether it was extended.
    pub extended: bool,
    /// The earlier request this one repeats.
    pub duplicate_of: Option<String>,
    /// `(when, status)` of each step.
    pub history: Vec<(chrono::NaiveDateTime, String)>,
}

/// The subject of request `id` when `hash` is its token's hash; both are hex SHA-256, compared
/// without an early exit.
fn token_holder(
    c: &mut rightful_store::DbConn,
    id: &str,
    hash: &str,
) -> Result<Option<request::RequestSubject>, rightful_store::StoreError> {
    Ok(request::subject(c, id)?.filter(|s| {
        s.token_hash.len() == hash.len()
            && s.token_hash
                .bytes()
                .zip(hash.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }))
}

/// The request's status for the holder of its token; `NotFound` for a wrong token too, so that
/// nobody learns whether a request exists.
pub async fn status_for_subject(
    engine: &Engine,
    id: &str,
    token: &str,
) -> Result<StatusView, IntakeError> {
    let (id, hash) = (id.to_owned(), token_hash(token));
    engine
        .store
        .run(move |c| {
            let Some(subject) = token_holder(c, &id, &hash)? else {
                return Ok(None);
            };
            let Some(row) = request::find(c, &id)? else {
                return Ok(None);
            };
            let history = request::events(c, &id)?
                .into_iter()
                .map(|e| (e.at, e.to_status))
                .collect();
            Ok(Some(StatusView {
                id: row.id,
                kind: row.kind,
                status: row.status,
                received_at: row.received_at,
                due_on: row.due_on,
                extended: row.extended,
                duplicate_of: subject.duplicate_of,
                history,
            }))
        })
        .await?
        .ok_or(IntakeError::NotFound)
}

/// A DPO decision.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case", deny_unknown_fields)]
pub enum Decision {
    /// Approve for execution.
    Approve,
    /// Refuse, with a reason code and reasons for the notice (A10).
    Deny {
        /// `manifestly_unfounded`, `manifestly_excessive`, `cannot_identify`, `not_covered`, …
        reason_code: String,
        /// The reasons told to the subject.
        reasons: String,
    },
    /// Extend by two months (A4).
    Extend {
        /// Complexity or number of requests.
        reason: ExtensionReason,
        /// The reasons told to the subject.
        reasons: String,
    },
    /// A6: the DPO has a reasonable doubt about the requester's identity; the request goes back
    /// to identity, where a proportionate proof can be asked for.
    Doubt {
        /// Why the doubt is reasonable.
        reasons: String,
    },
    /// A9: the request looks manifestly unfounded or excessive. The burden of proof is on the
    /// controller: a justification and the earlier requests it repeats are required, and a
    /// request a year or more after the previous one is never excessive.
    FlagExcessive {
        /// The structured justification.
        justification: String,
        /// The earlier requests it repeats.
        earlier_requests: Vec<String>,
    },
    /// A note in the request's history.
    Comment {
        /// The note.
        text: String,
    },
}

/// Applies a DPO decision; `actor` is the staff member for the audit trail.
pub async fn decide(
    engine: &Engine,
    id: &str,
    decision: Decision,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Status, IntakeError> {
    let (id, actor) = (id.to_owned(), actor.to_owned());
    let rules = engine.settings.deadlines.clone();
    engine
        .store
        .run(move |c| {
            let Some(row) = request::find(c, &id)? else { return Ok(Err(IntakeError::NotFound)) };
            let at = now.naive_utc();
            // Everything is checked before anything is written.
            let (to, action, reason, details, new_due) = match decision {
                Decision::Doubt { reasons } if reasons.trim().is_empty() => {
                    return Ok(Err(IntakeError::Invalid("a reasonable doubt must be explained (A6)".into())));
                }
                Decision::Doubt { reasons } => (Status::IdentityPending, "identity.doubt_recorded", reasons, serde_json::json!({}), None),
                Decision::FlagExcessive { justification, earlier_requests } => {
                    if justification.trim().is_empty() || earlier_requests.is_empty() {
                        return Ok(Err(IntakeError::Invalid("flagging a request as excessive needs a justification and the earlier requests it repeats (A9)".into())));
                    }
                    let mut latest = None;
                    for e in &earlier_requests {
                        let Some(earlier) = request::find(c, e)? else {
                            return Ok(Err(IntakeError::Invalid("an earlier request named does not exist".into())));
                        };
                        latest = latest.max(Some(earlier.received_at));
                    }
                    if latest.is_some_and(|l| row.received_at - l >= chrono::Duration::days(365)) {
                        return Ok(Err(IntakeError::Invalid("a request a year or more after the previous one is never excessive (A9)".into())));
                    }
                    let details = serde_json::json!({"earlier_requests": earlier_requests});
                    audit::append(c, vec![EntryContent { at: now, actor: actor.clone(), action: "request.flagged_excessive".into(), target: id.clone(), reason: justification, details }])?;
                    return Ok(Ok(row.status()?));
                }
                Decision::Comment { text } => {
                    if text.trim().is_empty() {
                        return Ok(Err(IntakeError::Invalid("the comment is empty".into())));
                    }
                    audit::append(c, vec![EntryContent { at: now, actor: actor.clone(), action: "request.commented".into(), target: id.clone(), reason: text, details: serde_json::json!({}) }])?;
                    return Ok(Ok(row.status()?));
                }
                Decision::Approve => (Status::Approved, "request.approved", String::new(), serde_json::json!({}), None),
                Decision::Deny { reason_code, reasons } => {
                    if reason_code.trim().is_empty() || reasons.trim().is_empty() {
                        return Ok(Err(IntakeError::Invalid("a refusal needs a reason code and the reasons told to the subject (A10)".into())));
                    }
                    (Status::Denied, "request.denied", reasons, serde_json::json!({"reason_code": reason_code}), None)
                }
                Decision::Extend { reason, reasons } => {
                    let mut clock = Clock { received: row.received_at.date(), pauses: Vec::new(), extended: row.extended };
                    match clock.extend(Some(reason), &reasons, &rules, now.date_naive()) {
                        Ok(due) => (Status::Extended, "request.extended", reasons, serde_json::json!({"reason": reason, "due_on": due}), Some(due)),
                        Err(e) => return Ok(Err(e.into())),
                    }
                }
            };
            if let Err(e) = row.status()?.transition(to) {
                return Ok(Err(e.into()));
            }
            c.transaction(|c| {
                let status = request::transition(c, &id, to, &actor, &reason, at)?
                    .map_err(|e| rightful_store::StoreError::Invalid(e.to_string()))?;
                if let Some(due) = new_due {
                    request::set_due(c, &id, due, true, at)?;
                }
                audit::append(c, vec![EntryContent { at: now, actor: actor.clone(), action: action.into(), target: id.clone(), reason, details }])?;
                Ok(Ok(status))
            })
        })
        .await?
}

fn code_hash(request_id: &str, code: &str) -> String {
    hex(&Sha256::digest(format!("{request_id}:{code}").as_bytes()))
}

/// Sends a fresh e-mail code (A5–A6: the e-mail code bound to the request proves the requester
/// controls the address; the clock pauses while waiting). On a mail failure the request stays
/// `received` for the DPO, and the failure is logged without the address.
async fn send_code(engine: &Engine, id: &str, email: &str, now: DateTime<Utc>) -> Status {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let code = format!("{:06}", OsRng.next_u32() % 1_000_000);
    let minutes = engine.settings.mail.code_minutes;
    let body = format!(
        "Hello,\n\nWe received your request {id} to {controller}.\nTo confirm that this address is yours, enter this code: {code}\nIt is valid for {minutes} minutes.\n\nIf you did not make this request, ignore this message.\n",
        controller = engine.policy.controller.party.name
    );
    let (mailer, to) = (engine.mailer.clone(), email.to_owned());
    let sent = tokio::task::spawn_blocking(move || {
        mailer.send(&to, "Confirm your data protection request", &body)
    })
    .await;
    if !matches!(sent, Ok(Ok(()))) {
        // The transport's message may quote the server's reply, which can name the recipient:
        // only the kind of failure is logged.
        let why = match sent {
            Ok(Err(crate::mail::MailError::Build(_))) => "the message could not be built",
            Ok(Err(crate::mail::MailError::Send(_))) => "the mail transport refused or failed",
            _ => "the mail task failed",
        };
        tracing::error!(request.id = %id, error = why, "identity code not sent");
        return Status::Received;
    }
    let challenge = rightful_store::models::challenge::Challenge {
        request_id: id.to_owned(),
        code_hash: code_hash(id, &code),
        sent_at: now.naive_utc(),
        expires_at: (now + chrono::Duration::minutes(minutes)).naive_utc(),
        attempts_left: engine.settings.mail.code_attempts,
    };
    let id = id.to_owned();
    let recorded = engine
        .store
        .run(move |c| {
            c.transaction(|c| {
                rightful_store::models::challenge::put(c, &challenge)?;
                request::transition(
                    c,
                    &id,
                    Status::IdentityPending,
                    "system",
                    "e-mail code sent",
                    challenge.sent_at,
                )?
                .map_err(|e| rightful_store::StoreError::Invalid(e.to_string()))?;
                audit::append(
                    c,
                    vec![EntryContent {
                        at: now,
                        actor: "system".into(),
                        action: "identity.code_sent".into(),
                        target: id.clone(),
                        reason: String::new(),
                        details: serde_json::json!({"method": "email_code"}),
                    }],
                )
            })
        })
        .await;
    match recorded {
        Ok(_) => Status::IdentityPending,
        Err(e) => {
            tracing::error!(error = %e, "identity challenge not recorded");
            Status::Received
        }
    }
}

/// Checks the e-mail code for the holder of the request's token (A5–A7): a right code moves the
/// request to review and resumes its clock, the paused days added to the due date; a wrong one
/// uses an attempt; an expired or used-up code is refused.
pub async fn verify_code(
    engine: &Engine,
    id: &str,
    token: &str,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Status, IntakeError> {
    let (id, code, hash) = (id.to_owned(), code.trim().to_owned(), token_hash(token));
    let rules = engine.settings.deadlines.clone();
    engine
        .store
        .run(move |c| {
            use rightful_store::models::challenge;
            // A wrong token answers exactly like an unknown request.
            if token_holder(c, &id, &hash)?.is_none() {
                return Ok(Err(IntakeError::NotFound));
            }
            let Some(ch) = challenge::get(c, &id)? else {
                return Ok(Err(IntakeError::Code("no code is pending for this request".into())));
            };
            let at = now.naive_utc();
            if at > ch.expires_at {
                challenge::remove(c, &id)?;
                return Ok(Err(IntakeError::Code("the code has expired".into())));
            }
            if code_hash(&id, &code) != ch.code_hash {
                let left = challenge::spend_attempt(c, &id)?;
                if left <= 0 {
                    challenge::remove(c, &id)?;
                    return Ok(Err(IntakeError::Code("wrong code; no attempt left, the code is cancelled".into())));
                }
                return Ok(Err(IntakeError::Code(format!("wrong code; {left} attempt(s) left"))));
            }
            let Some(row) = request::find(c, &id)? else { return Ok(Err(IntakeError::NotFound)) };
            let mut clock = Clock::new(row.received_at.date());
            clock.extended = row.extended;
            clock.pauses.push(rightful_core::deadline::Pause { paused: ch.sent_at.date(), resumed: Some(now.date_naive()) });
            let due = clock.due(&rules, now.date_naive());
            c.transaction(|c| {
                challenge::remove(c, &id)?;
                let status = request::transition(c, &id, Status::AwaitingReview, "subject", "e-mail code confirmed", at)?
                    .map_err(|e| rightful_store::StoreError::Invalid(e.to_string()))?;
                request::set_due(c, &id, due, row.extended, at)?;
                audit::append(
                    c,
                    vec![EntryContent {
                        at: now,
                        actor: "subject".into(),
                        action: "identity.verified".into(),
                        target: id.clone(),
                        reason: String::new(),
                        details: serde_json::json!({"method": "email_code", "id_checked": true, "due_on": due}),
                    }],
                )?;
                Ok(Ok(status))
            })
        })
        .await?
}

/// Identity established at intake (OIDC token, agent signature): straight to review. An agent's
/// request needs the mandate before anything is disclosed (A13).
async fn mark_verified(
    engine: &Engine,
    id: &str,
    method: &'static str,
    agent: Option<String>,
    now: DateTime<Utc>,
) -> Result<Status, IntakeError> {
    let id = id.to_owned();
    Ok(engine
        .store
        .run(move |c| {
            c.transaction(|c| {
                let status = request::transition(c, &id, Status::AwaitingReview, "system", method, now.naive_utc())?
                    .map_err(|e| rightful_store::StoreError::Invalid(e.to_string()))?;
                audit::append(
                    c,
                    vec![EntryContent {
                        at: now,
                        actor: agent.as_ref().map_or_else(|| "subject".to_owned(), |a| format!("agent:{a}")),
                        action: "identity.verified".into(),
                        target: id.clone(),
                        reason: String::new(),
                        details: serde_json::json!({"method": method, "id_checked": true, "mandate_required": agent.is_some()}),
                    }],
                )?;
                Ok(status)
            })
        })
        .await?)
}
