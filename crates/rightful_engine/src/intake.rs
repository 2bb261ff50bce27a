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
use rightful_core::evidence::{Detail, DocumentKind, Proof};
use rightful_core::intake::{RequestType, SubjectEmail, classify};
use rightful_core::lifecycle::Status;
use rightful_store::models::{audit, request};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How long a repeat is treated as a duplicate.
pub const DUPLICATE_WINDOW_HOURS: i64 = 24;

/// A submission, as received.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
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
    /// Family name (the policy's evidence rules say whether it is required).
    #[serde(default)]
    pub last_name: Option<String>,
    /// Given name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Postal address.
    #[serde(default)]
    pub postal_address: Option<String>,
    /// The language of our messages: `en` or `fr` (default: the configured one).
    #[serde(default)]
    pub language: Option<String>,
    /// New values for a rectification (`new_values`: {field: value}, or `statement`), grounds
    /// for an objection (`grounds`; none for marketing `purposes`), purposes in scope
    /// (`purposes`), the `action` of a post-mortem request (register, update, revoke with
    /// `directives`, `specific_consent`, `executor`; notice_of_death with `deceased` and
    /// `requester_role`).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// An ID token from the configured OpenID Connect provider: proves the address at once (A6).
    #[serde(default)]
    pub id_token: Option<String>,
}

impl Submission {
    fn given(&self, d: Detail) -> bool {
        let v = match d {
            Detail::LastName => self.last_name.as_deref(),
            Detail::FirstName => self.first_name.as_deref(),
            Detail::Email => Some(self.email.as_str()),
            Detail::PostalAddress => self.postal_address.as_deref(),
        };
        v.is_some_and(|v| !v.trim().is_empty())
    }
}

/// An accepted request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Accepted {
    /// Request id.
    pub id: String,
    /// The subject's token for this request, shown once.
    pub token: String,
    /// Its type.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "erasure")]
    pub kind: RequestType,
    /// Status.
    #[schema(value_type = String, example = "identity_pending")]
    pub status: Status,
    /// Receipt time (A1).
    pub received_at: DateTime<Utc>,
    /// Due date (A2).
    pub due_on: NaiveDate,
    /// The acknowledgement of receipt, a JWS signed by Rightful (A12).
    pub acknowledgement: String,
    /// The earlier verified request this one repeats, if any: linked for the DPO (and for an
    /// agent's own repeats), never told at intake — it would tell a stranger that this person
    /// has a pending request (issue 12 item 2).
    #[serde(skip)]
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
    /// A notice the decision depends on could not be sent; nothing was changed.
    #[error(transparent)]
    Notice(#[from] crate::notices::NoticeError),
    /// Too many requests of this kind: try again later.
    #[error(transparent)]
    Limited(#[from] crate::limits::Limited),
    /// The request token is right, but the requester's identity is not verified yet: the token
    /// proves only that its holder made the request (issue 12 item 1).
    #[error("verify your identity first: until then this request discloses nothing")]
    NotVerified,
}

impl From<rightful_store::StoreError> for IntakeError {
    fn from(e: rightful_store::StoreError) -> Self {
        Self::Engine(e.into())
    }
}

pub(crate) fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

pub(crate) fn new_token() -> String {
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
    crate::mail::check_recipient(email.as_ref()).map_err(IntakeError::Invalid)?;
    for name in [&s.first_name, &s.last_name, &s.postal_address, &s.text]
        .into_iter()
        .flatten()
    {
        rightful_core::intake::check_text(name).map_err(IntakeError::Invalid)?;
    }
    if agent.is_none() {
        engine.limits.hit(
            crate::limits::Scope::IntakeAddress,
            &email.as_ref().to_lowercase(),
            engine.settings.limits.intake_per_address,
            std::time::Instant::now(),
        )?;
    }
    let kind = match (&s.kind, &s.text) {
        (Some(k), _) => RequestType::parse(k).ok_or_else(|| {
            IntakeError::Invalid(format!(
                "unknown request type: use one of {}",
                RequestType::ALL.map(RequestType::as_str).join(", ")
            ))
        })?,
        (None, Some(text)) if !text.trim().is_empty() => classify(text),
        _ => {
            return Err(IntakeError::Invalid(
                "say which right you exercise (`type`) or describe your request (`text`)".into(),
            ));
        }
    };
    let too_long =
        |v: &Option<String>, max: usize| v.as_ref().is_some_and(|t| t.chars().count() > max);
    if too_long(&s.text, 20_000)
        || too_long(&s.last_name, 200)
        || too_long(&s.first_name, 200)
        || too_long(&s.postal_address, 500)
    {
        return Err(IntakeError::Invalid(
            "the text, a name or the postal address is too long".into(),
        ));
    }
    let language = match s.language.as_deref() {
        Some(l) if crate::notices::LANGUAGES.contains(&l) => l.to_owned(),
        Some(_) => {
            return Err(IntakeError::Invalid(format!(
                "`language` is one of {}",
                crate::notices::LANGUAGES.join(", ")
            )));
        }
        None => engine.settings.mail.language.clone(),
    };
    // What the policy asks of this kind of request (SPEC §6), checked before anything is stored.
    let rule = engine
        .policy
        .evidence
        .rule(kind, rightful_core::details::post_mortem_action(&s.details));
    let missing = rule.missing(|d| s.given(d));
    if !missing.is_empty() {
        return Err(IntakeError::Invalid(format!(
            "this request must state: {}",
            missing.join(", ")
        )));
    }
    rightful_core::details::check(&engine.policy, kind, &s.details)
        .map_err(IntakeError::Invalid)?;
    // Evidence that needs no e-mail code (A6), checked before anything is stored.
    let refused = |p: Proof| {
        IntakeError::Invalid(format!(
            "this request cannot be proven by {}: use {}",
            p.as_str(),
            rule.proof
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    };
    let evidence: Option<(&'static str, Option<String>)> = match (&agent, &s.id_token) {
        (Some(_), _) if !rule.accepts(Proof::AgentSignature) => {
            return Err(refused(Proof::AgentSignature));
        }
        (Some(a), _) => Some(("agent_signature", Some(a.clone()))),
        (None, Some(_)) if !rule.accepts(Proof::Oidc) => return Err(refused(Proof::Oidc)),
        (None, Some(t)) => {
            crate::identity::verify_id_token(engine, t, &email).await?;
            Some(("oidc", None))
        }
        (None, None) if !rule.accepts(Proof::EmailCode) => return Err(refused(Proof::EmailCode)),
        (None, None) => None,
    };
    // Documents of standing the policy asks for up front (D5), and an agent's mandate (A13).
    let mut documents: Vec<DocumentKind> = rule.documents.clone();
    if agent.is_some() && !documents.contains(&DocumentKind::Mandate) {
        documents.push(DocumentKind::Mandate);
    }
    // The mail this submission sends to the address (a code or an acknowledgement, and the
    // documents asked for) counts against the address's daily cap before anything is stored.
    take_mail_quota(
        engine,
        email.as_ref(),
        1 + usize::from(!documents.is_empty()),
        now,
    )
    .await?;
    let received = now.date_naive();
    let due_on = Clock::new(received).due(&engine.settings.deadlines, received);
    let id = uuid::Uuid::new_v4().to_string();
    let token = new_token();
    let mut details = if s.details.is_null() {
        serde_json::json!({})
    } else {
        s.details.clone()
    };
    if let Some(map) = details.as_object_mut() {
        for (k, v) in [("text", &s.text), ("postal_address", &s.postal_address)] {
            if let Some(v) = v {
                map.insert(k.into(), serde_json::Value::String(v.clone()));
            }
        }
        map.insert(
            "language".into(),
            serde_json::Value::String(language.clone()),
        );
    }
    let name = [&s.first_name, &s.last_name]
        .into_iter()
        .flatten()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let name = (!name.is_empty()).then_some(name);
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
    let (req_id, email_s, channel_s) = (id.clone(), email.as_ref().to_owned(), channel.to_owned());
    let details_cmp = details.clone();
    let doc_kinds: Vec<&'static str> = documents.iter().map(|d| d.as_str()).collect();
    let hash = token_hash(&token);
    // An agent's repeat of a verified request is answered with that request; any other repeat
    // goes through identity and review like a new request, linked for the DPO only.
    let repeat_answered = agent.is_some();
    let duplicate_of = engine
        .store
        .run(move |c| {
            let since = (now - chrono::Duration::hours(DUPLICATE_WINDOW_HOURS)).naive_utc();
            // A repeat asks the same thing: a request with other details (other purposes, an
            // objection taken back) is a request of its own.
            let same = |d: &serde_json::Value| {
                let strip = |v: &serde_json::Value| {
                    let mut v = v.clone();
                    if let Some(m) = v.as_object_mut() {
                        for k in ["text", "language", "postal_address"] {
                            m.remove(k);
                        }
                    }
                    v
                };
                strip(d) == strip(&details_cmp)
            };
            let duplicate_of = match request::recent_open(c, &email_s, kind.as_str(), since)? {
                Some(r) => request::subject(c, &r.id)?
                    .and_then(|s| serde_json::from_str::<serde_json::Value>(&s.details).ok())
                    .filter(|d| same(d))
                    .map(|_| r.id),
                None => None,
            };
            let at = now.naive_utc();
            request::insert_with_subject(
                c,
                &request::NewRequest { id: &req_id, kind: kind.as_str(), status: Status::Received.as_str(), channel: &channel_s, received_at: at, due_on, extended: false, updated_at: at },
                &request::RequestSubject { request_id: req_id.clone(), email: email_s, name, details: details.to_string(), token_hash: hash, duplicate_of: duplicate_of.clone(), verified_at: None },
                "subject",
            )?;
            if duplicate_of.is_none() || !repeat_answered {
                for kind in &doc_kinds {
                    rightful_store::models::document::request(c, &req_id, kind, "policy", at)?;
                }
            }
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
    let notice = Notice {
        id: id.clone(),
        kind: kind.as_str().into(),
        email: email.as_ref().into(),
        language: language.clone(),
        received_on: now.date_naive(),
        due_on,
    };
    let answered_by_first = duplicate_of.is_some() && repeat_answered;
    let status = match (answered_by_first, evidence) {
        (true, _) => Status::Received,
        (false, Some((method, agent))) => {
            let status = mark_verified(engine, &id, method, agent, now).await?;
            // A12: the acknowledgement by mail too; a failure is logged, the request stands.
            let _ = notice.send(engine, "received", Vec::new(), now).await;
            status
        }
        (false, None) => send_code(engine, &notice, now).await,
    };
    if !answered_by_first && !documents.is_empty() {
        let _ = crate::documents::ask(
            engine,
            &notice,
            &documents,
            "the law asks for these documents with this request",
            now,
        )
        .await;
    }
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

/// What a message to the subject about one request needs.
#[derive(Debug, Clone)]
pub(crate) struct Notice {
    pub id: String,
    pub kind: String,
    pub email: String,
    pub language: String,
    pub received_on: NaiveDate,
    pub due_on: NaiveDate,
}

impl Notice {
    /// The notice details of a stored request.
    pub(crate) fn of(
        c: &mut rightful_store::DbConn,
        id: &str,
    ) -> Result<Option<Self>, rightful_store::StoreError> {
        let (Some(row), Some(subject)) = (request::find(c, id)?, request::subject(c, id)?) else {
            return Ok(None);
        };
        let details: serde_json::Value = serde_json::from_str(&subject.details).unwrap_or_default();
        Ok(Some(Self {
            id: row.id,
            kind: row.kind,
            email: subject.email,
            language: details
                .get("language")
                .and_then(|l| l.as_str())
                .unwrap_or("")
                .to_owned(),
            received_on: row.received_at.date(),
            due_on: row.due_on,
        }))
    }

    /// The values of template `name` for this request; `extra` values come first, so they win
    /// over the request's own (a new due date). Returns the language and the values.
    fn values(
        &self,
        engine: &Engine,
        extra: Vec<(&'static str, String)>,
    ) -> (String, Vec<(&'static str, String)>) {
        let mut values = extra;
        values.extend(crate::notices::common_values(engine));
        values.extend([
            ("request_id", self.id.clone()),
            ("request_type", self.kind.clone()),
            ("received_on", self.received_on.to_string()),
            ("due_on", self.due_on.to_string()),
        ]);
        (
            crate::notices::language(engine, Some(&self.language)),
            values,
        )
    }

    /// Template `name` rendered for this request, as a mail for the outbox (issue 14): sent after
    /// the transaction that writes it commits, at most once per request and template.
    pub(crate) fn outbox_mail(
        &self,
        engine: &Engine,
        name: &'static str,
        extra: Vec<(&'static str, String)>,
        now: chrono::NaiveDateTime,
    ) -> Option<rightful_store::models::outbox::Mail> {
        let (lang, values) = self.values(engine, extra);
        let (subject, body) = engine.templates.render(&lang, name, &values)?;
        Some(rightful_store::models::outbox::Mail {
            id: uuid::Uuid::new_v4().to_string(),
            request_id: self.id.clone(),
            template: name.to_owned(),
            message_id: crate::outbox::message_id(engine, &self.id, name),
            recipient: self.email.clone(),
            subject,
            body,
            language: lang,
            status: "pending".into(),
            attempts: 0,
            next_at: now,
            claimed_until: None,
            last_error: None,
            created_at: now,
            sent_at: None,
        })
    }

    /// Sends template `name`; `extra` values come first, so they win over the request's own
    /// (a new due date).
    pub(crate) async fn send(
        &self,
        engine: &Engine,
        name: &'static str,
        extra: Vec<(&'static str, String)>,
        now: DateTime<Utc>,
    ) -> Result<(), crate::notices::NoticeError> {
        let (lang, values) = self.values(engine, extra);
        crate::notices::send(engine, &self.id, &self.email, &lang, name, values, now).await
    }
}

/// What the subject sees of their request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
    /// `(when, status)` of each step.
    #[schema(value_type = Vec<Vec<String>>)]
    pub history: Vec<(chrono::NaiveDateTime, String)>,
}

/// The subject of request `id` when `hash` is its token's hash; both are hex SHA-256, compared
/// without an early exit.
pub(crate) fn token_holder(
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

/// What a request token proves at this point (issue 12 item 1; SPEC §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A wrong token or no such request: answered like an unknown request.
    Nobody,
    /// The token is right, but the identity is not verified yet (or a document asked for is
    /// not accepted): the holder may verify, upload what was asked and read the status only.
    Unverified,
    /// The identity is verified and every document asked for accepted: the holder stands for
    /// the subject of this request.
    Subject(request::RequestSubject),
}

/// What the holder of `hash` proves about request `id`.
pub(crate) fn holder(
    c: &mut rightful_store::DbConn,
    id: &str,
    hash: &str,
) -> Result<Holder, rightful_store::StoreError> {
    let Some(subject) = token_holder(c, id, hash)? else {
        return Ok(Holder::Nobody);
    };
    if subject.verified_at.is_none() {
        return Ok(Holder::Unverified);
    }
    let pending = rightful_store::models::document::list(c, id)?
        .iter()
        .any(|d| d.outcome.as_deref() != Some("accepted"));
    Ok(if pending {
        Holder::Unverified
    } else {
        Holder::Subject(subject)
    })
}

/// The subject of request `id` for a token that proves it; `NotFound` for a wrong token,
/// `NotVerified` for a right token before verification.
pub(crate) fn proven_subject(
    c: &mut rightful_store::DbConn,
    id: &str,
    hash: &str,
) -> Result<Result<request::RequestSubject, IntakeError>, rightful_store::StoreError> {
    Ok(match holder(c, id, hash)? {
        Holder::Nobody => Err(IntakeError::NotFound),
        Holder::Unverified => Err(IntakeError::NotVerified),
        Holder::Subject(s) => Ok(s),
    })
}

/// Checks that `token` proves the identity behind request `id` (before a result is served).
pub async fn require_verified(engine: &Engine, id: &str, token: &str) -> Result<(), IntakeError> {
    let (id, hash) = (id.to_owned(), token_hash(token));
    engine
        .store
        .run(move |c| Ok(proven_subject(c, &id, &hash)?.map(|_| ())))
        .await?
}

/// Counts `n` messages to `email` against its daily cap (`limits.mail_per_address_per_day`);
/// past it, the caller waits until the next day (UTC).
async fn take_mail_quota(
    engine: &Engine,
    email: &str,
    n: usize,
    now: DateTime<Utc>,
) -> Result<(), IntakeError> {
    let key = crate::stores::hash_key(&engine.settings)?;
    let h = crate::suppression::hash(&key, email);
    let (day, cap) = (
        now.date_naive(),
        engine.settings.limits.mail_per_address_per_day,
    );
    let allowed = engine
        .store
        .run(move |c| {
            for _ in 0..n {
                if !rightful_store::models::quota::take(c, &h, day, cap)? {
                    return Ok(false);
                }
            }
            Ok(true)
        })
        .await?;
    if allowed {
        return Ok(());
    }
    let midnight = day
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(3600, |m| (m - now.naive_utc()).num_seconds().max(1));
    Err(crate::limits::Limited {
        retry_after_secs: u64::try_from(midnight).unwrap_or(3600),
    }
    .into())
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
            if token_holder(c, &id, &hash)?.is_none() {
                return Ok(None);
            }
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
                history,
            }))
        })
        .await?
        .ok_or(IntakeError::NotFound)
}

/// The OpenAPI schema of an extension's reason: one of the two the regulation admits.
fn extension_reason_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["complexity", "number_of_requests"]))
        .build()
}

/// The OpenAPI schema of an objection's assessment.
fn assessment_outcome_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["upheld", "overridden"]))
        .build()
}

/// A DPO decision.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
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
        /// Complexity or number of requests: `complexity` or `number_of_requests`.
        #[schema(schema_with = extension_reason_schema)]
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
    /// C5: lift the restriction of a completed restriction or objection request; the subject is
    /// told first (Art. 18(3)).
    LiftRestriction {
        /// Why, told to the subject.
        reasons: String,
    },
    /// C7: the assessment of an objection to a legitimate-interest purpose: `upheld` erases
    /// what was restricted meanwhile; `overridden` documents compelling legitimate grounds and
    /// lifts the restriction with a notice.
    AssessObjection {
        /// `upheld` or `overridden`.
        #[schema(schema_with = assessment_outcome_schema)]
        outcome: String,
        /// The documented assessment.
        reasons: String,
    },
    /// A note in the request's history.
    Comment {
        /// The note.
        text: String,
    },
}

/// A decision checked and ready to commit.
struct Planned {
    to: Status,
    action: &'static str,
    reason: String,
    details: serde_json::Value,
    new_due: Option<NaiveDate>,
    /// The notice that must reach the subject before the decision stands (A4, A10), or that
    /// follows it (A6).
    notice: Option<(&'static str, Vec<(&'static str, String)>)>,
    /// Post-mortem directives to record on approval (D2).
    directives: bool,
}

/// Why a request may not be approved for who it is about or who asks (LIL art. 84-85): the
/// subject has died (D1: only post-mortem requests remain), or an executor the directives do not
/// name (D6).
fn standing(
    c: &mut rightful_store::DbConn,
    kind: &str,
    subject: Option<&request::RequestSubject>,
    details: &serde_json::Value,
) -> Result<Option<String>, rightful_store::StoreError> {
    use rightful_store::models::directive;
    let Some(subject) = subject else {
        return Ok(None);
    };
    if kind != RequestType::PostMortem.as_str() {
        if directive::is_deceased(c, &subject.email)? {
            return Ok(Some("the data subject has died (LIL art. 84): their rights ended; only post-mortem requests by the executor or the heirs apply".into()));
        }
        return Ok(None);
    }
    let is_notice = details.get("action").and_then(|a| a.as_str()) == Some("notice_of_death");
    let as_executor = details.get("requester_role").and_then(|r| r.as_str()) == Some("executor");
    if !(is_notice && as_executor) {
        return Ok(None);
    }
    let Some(deceased) = details
        .pointer("/deceased/email")
        .and_then(|e| e.as_str())
        .and_then(|e| SubjectEmail::parse(e).ok())
    else {
        return Ok(None);
    };
    let named = directive::in_force(c, deceased.as_ref())?
        .and_then(|v| v.executor)
        .and_then(|e| serde_json::from_str::<serde_json::Value>(&e).ok())
        .and_then(|e| {
            e.get("email")
                .and_then(|m| m.as_str())
                .map(str::to_lowercase)
        });
    Ok(match named {
        Some(e) if e == subject.email => None,
        Some(_) => Some("the directives name another person to carry them out (LIL art. 85): the request is refused".into()),
        None => Some("no directives name an executor: the heirs have standing (LIL art. 85-II)".into()),
    })
}

enum Step {
    Done(Status),
    Plan(Box<Planned>, Notice),
}

/// Applies a DPO decision; `actor` is the staff member for the audit trail. A refusal (A10) or
/// an extension (A4) stands only once its notice is sent: if the mail cannot go, nothing changes
/// and the DPO is told to retry.
pub async fn decide(
    engine: &Engine,
    id: &str,
    decision: Decision,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Status, IntakeError> {
    let decision = match decision {
        Decision::LiftRestriction { reasons } => {
            return crate::execution::lift_restriction(engine, id, &reasons, actor, now).await;
        }
        Decision::AssessObjection { outcome, reasons } => {
            let upheld = match outcome.as_str() {
                "upheld" => true,
                "overridden" => false,
                _ => {
                    return Err(IntakeError::Invalid(
                        "`outcome` is upheld or overridden".into(),
                    ));
                }
            };
            return crate::execution::assess_objection(engine, id, upheld, &reasons, actor, now)
                .await;
        }
        other => other,
    };
    let (id, actor) = (id.to_owned(), actor.to_owned());
    let rules = engine.settings.deadlines.clone();
    // 1. Check everything; comments and flags are recorded at once (they change no status).
    let step = {
        let (id, actor) = (id.clone(), actor.clone());
        engine
            .store
            .run(move |c| -> Result<Result<Step, IntakeError>, rightful_store::StoreError> {
                let Some(row) = request::find(c, &id)? else { return Ok(Err(IntakeError::NotFound)) };
                let Some(notice) = Notice::of(c, &id)? else { return Ok(Err(IntakeError::NotFound)) };
                let plain = |to, action, reason, details| Planned { to, action, reason, details, new_due: None, notice: None, directives: false };
                let planned = match decision {
                    Decision::Doubt { reasons } if reasons.trim().is_empty() => {
                        return Ok(Err(IntakeError::Invalid("a reasonable doubt must be explained (A6)".into())));
                    }
                    Decision::Doubt { reasons } => Planned {
                        notice: Some(("documents_requested", vec![("reasons", reasons.clone())])),
                        ..plain(Status::IdentityPending, "identity.doubt_recorded", reasons, serde_json::json!({"document": "identity_document"}))
                    },
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
                        return Ok(Ok(Step::Done(row.status()?)));
                    }
                    // Handled before this step.
                    Decision::LiftRestriction { .. } | Decision::AssessObjection { .. } => {
                        return Ok(Ok(Step::Done(row.status()?)));
                    }
                    Decision::Comment { text } => {
                        if text.trim().is_empty() {
                            return Ok(Err(IntakeError::Invalid("the comment is empty".into())));
                        }
                        audit::append(c, vec![EntryContent { at: now, actor: actor.clone(), action: "request.commented".into(), target: id.clone(), reason: text, details: serde_json::json!({}) }])?;
                        return Ok(Ok(Step::Done(row.status()?)));
                    }
                    Decision::Approve => {
                        // A13, D5: the documents of standing must have been checked and accepted.
                        let open = crate::documents::unsettled(c, &id)?;
                        if !open.is_empty() {
                            return Ok(Err(IntakeError::Invalid(format!("these documents must be checked and accepted first: {}", open.join(", ")))));
                        }
                        let subject = request::subject(c, &id)?;
                        let details: serde_json::Value = subject.as_ref().and_then(|s| serde_json::from_str(&s.details).ok()).unwrap_or_default();
                        if let Some(refusal) = standing(c, &row.kind, subject.as_ref(), &details)? {
                            return Ok(Err(IntakeError::Invalid(refusal)));
                        }
                        let directives = row.kind == RequestType::PostMortem.as_str()
                            && matches!(rightful_core::details::post_mortem_action(&details), Some("register" | "update" | "revoke"));
                        Planned { directives, ..plain(Status::Approved, "request.approved", String::new(), serde_json::json!({})) }
                    }
                    Decision::Deny { reason_code, reasons } => {
                        if reason_code.trim().is_empty() || reasons.trim().is_empty() {
                            return Ok(Err(IntakeError::Invalid("a refusal needs a reason code and the reasons told to the subject (A8, A10)".into())));
                        }
                        Planned {
                            notice: Some(("denied", vec![("reason_code", reason_code.clone()), ("reasons", reasons.clone())])),
                            ..plain(Status::Denied, "request.denied", reasons, serde_json::json!({"reason_code": reason_code}))
                        }
                    }
                    Decision::Extend { reason, reasons } => {
                        let mut clock = Clock { received: row.received_at.date(), pauses: Vec::new(), extended: row.extended };
                        match clock.extend(Some(reason), &reasons, &rules, now.date_naive()) {
                            Ok(due) => Planned {
                                new_due: Some(due),
                                notice: Some(("extended", vec![("due_on", due.to_string()), ("reasons", reasons.clone())])),
                                ..plain(Status::Extended, "request.extended", reasons, serde_json::json!({"reason": reason, "due_on": due}))
                            },
                            Err(e) => return Ok(Err(e.into())),
                        }
                    }
                };
                if let Err(e) = row.status()?.transition(planned.to) {
                    return Ok(Err(e.into()));
                }
                Ok(Ok(Step::Plan(Box::new(planned), notice)))
            })
            .await?
    }?;
    let (planned, notice) = match step {
        Step::Done(status) => return Ok(status),
        Step::Plan(p, n) => (*p, n),
    };
    // 2. A refusal or an extension is told to the subject first (A4, A10).
    let before = matches!(planned.to, Status::Denied | Status::Extended);
    if before && let Some((name, values)) = &planned.notice {
        notice.send(engine, name, values.clone(), now).await?;
    }
    // 3. Commit.
    let (to, action, reason, details, new_due, directives) = (
        planned.to,
        planned.action,
        planned.reason.clone(),
        planned.details.clone(),
        planned.new_due,
        planned.directives,
    );
    let (cid, cactor) = (id.clone(), actor.clone());
    let store_names: Vec<String> = engine.stores.iter().map(|s| s.map.name.clone()).collect();
    let status = engine
        .store
        .run(move |c| {
            let (id, actor) = (cid, cactor);
            let at = now.naive_utc();
            c.transaction(|c| {
                let mut status = request::transition(c, &id, to, &actor, &reason, at)?
                    .map_err(|e| rightful_store::StoreError::Invalid(e.to_string()))?;
                if let Some(due) = new_due {
                    request::set_due(c, &id, due, true, at)?;
                }
                if to == Status::IdentityPending {
                    crate::documents::request_identity_document(c, &id, &actor, at)?;
                }
                let mut entries = vec![EntryContent {
                    at: now,
                    actor: actor.clone(),
                    action: action.into(),
                    target: id.clone(),
                    reason,
                    details,
                }];
                if directives {
                    status = crate::postmortem::record_directives(
                        c,
                        &id,
                        &actor,
                        at,
                        now,
                        &mut entries,
                    )?;
                } else if to == Status::Approved {
                    // Carrying it out starts now, as durable jobs (`execution`).
                    crate::execution::start(c, &store_names, &id, at)?;
                }
                audit::append(c, entries)?;
                Ok(status)
            })
        })
        .await?;
    if to == Status::Approved {
        // Issue 14: the jobs just committed are due now; an idle worker starts at once instead
        // of at its next poll.
        engine.wake.notify_waiters();
    }
    // A6: the requester is told which document to send, and why.
    if !before && let Some((name, values)) = planned.notice {
        let reasons = values.first().map(|(_, v)| v.clone()).unwrap_or_default();
        if name == "documents_requested" {
            let _ = crate::documents::ask(
                engine,
                &notice,
                &[DocumentKind::IdentityDocument],
                &reasons,
                now,
            )
            .await;
        }
    }
    Ok(status)
}

fn code_hash(request_id: &str, code: &str) -> String {
    hex(&Sha256::digest(format!("{request_id}:{code}").as_bytes()))
}

/// Sends a fresh e-mail code (A5–A6: the e-mail code bound to the request proves the requester
/// controls the address; the clock pauses while waiting), in the acknowledgement of receipt
/// (A12). On a mail failure the request stays `received` for the DPO, and the failure is logged
/// without the address.
async fn send_code(engine: &Engine, notice: &Notice, now: DateTime<Utc>) -> Status {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let id = notice.id.as_str();
    let code = format!("{:06}", OsRng.next_u32() % 1_000_000);
    let minutes = engine.settings.mail.code_minutes;
    let sent = notice
        .send(
            engine,
            "received_code",
            vec![("code", code.clone()), ("minutes", minutes.to_string())],
            now,
        )
        .await;
    if sent.is_err() {
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
            // The attempt is taken before the code is compared, in one conditional UPDATE:
            // however many guesses arrive at once, at most `code_attempts` are compared.
            if !challenge::take_attempt(c, &id)? {
                challenge::remove(c, &id)?;
                return Ok(Err(IntakeError::Code("no attempt left: the code is cancelled".into())));
            }
            if code_hash(&id, &code) != ch.code_hash {
                let left = challenge::get(c, &id)?.map_or(0, |ch| ch.attempts_left);
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
                request::set_verified(c, &id, Some(at))?;
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
                request::set_verified(c, &id, Some(now.naive_utc()))?;
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
