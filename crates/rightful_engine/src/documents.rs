//! Documents a request carries (checklist A6, A7, A13, D5).
//!
//! An identity document is asked for only after the DPO records a reasonable doubt (A6);
//! documents of standing (a death certificate and proof of heir status, D5; an agent's mandate,
//! A13) are asked for at intake when the policy or the law requires them. The requester uploads
//! each with the request's token; the DPO reads it and records the check, which deletes the
//! content at once (A7): only who checked it, when, how and the outcome stay. An upload the DPO
//! has not checked within `identity.document_days` is deleted unread by the scheduled sweep.

use crate::intake::{IntakeError, Notice, token_hash, token_holder};
use crate::{Engine, EngineError};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::Connection;
use rightful_core::audit::EntryContent;
use rightful_core::deadline::{Clock, Pause};
use rightful_core::evidence::DocumentKind;
use rightful_core::lifecycle::Status;
use rightful_store::models::{audit, document, request};
use serde::Serialize;

/// Media types accepted for a document.
pub const CONTENT_TYPES: [&str; 3] = ["application/pdf", "image/jpeg", "image/png"];

/// What the DPO sees of a document: never its content, which has its own route.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DocumentView {
    /// Its kind.
    pub kind: String,
    /// When it was asked for, and by whom (`policy` or the DPO).
    pub requested_at: NaiveDateTime,
    /// Who asked.
    pub requested_by: String,
    /// Whether an upload is waiting for the check.
    pub uploaded: bool,
    /// When it was checked.
    pub checked_at: Option<NaiveDateTime>,
    /// Who checked it.
    pub checked_by: Option<String>,
    /// accepted or rejected.
    pub outcome: Option<String>,
    /// How it was checked.
    pub method: Option<String>,
}

impl From<document::Document> for DocumentView {
    fn from(d: document::Document) -> Self {
        Self {
            kind: d.kind,
            requested_at: d.requested_at,
            requested_by: d.requested_by,
            uploaded: d.received_at.is_some() && d.checked_at.is_none(),
            checked_at: d.checked_at,
            checked_by: d.checked_by,
            outcome: d.outcome,
            method: d.method,
        }
    }
}

/// The documents of a request.
pub async fn list(engine: &Engine, id: &str) -> Result<Vec<DocumentView>, EngineError> {
    let id = id.to_owned();
    Ok(engine
        .store
        .run(move |c| document::list(c, &id))
        .await?
        .into_iter()
        .map(DocumentView::from)
        .collect())
}

fn kind(s: &str) -> Result<DocumentKind, IntakeError> {
    DocumentKind::parse(s).ok_or_else(|| {
        IntakeError::Invalid(format!(
            "`{s}` is not a document kind: {}",
            DocumentKind::ALL.map(DocumentKind::as_str).join(", ")
        ))
    })
}

/// Asks the requester for `kinds` (rows recorded by the caller or here) and tells them why.
pub(crate) async fn ask(
    engine: &Engine,
    notice: &Notice,
    kinds: &[DocumentKind],
    reasons: &str,
    now: DateTime<Utc>,
) -> Result<(), crate::notices::NoticeError> {
    let list = kinds
        .iter()
        .map(|k| format!("- {}", k.as_str()))
        .collect::<Vec<_>>()
        .join("\n");
    let s = &engine.settings.identity;
    notice
        .send(
            engine,
            "documents_requested",
            vec![
                ("documents", list),
                ("reasons", reasons.to_owned()),
                ("max_kib", s.document_max_kib.to_string()),
                ("days", s.document_days.to_string()),
            ],
            now,
        )
        .await
}

/// Stores an upload by the holder of the request's token, for a document that was asked for.
pub async fn upload(
    engine: &Engine,
    id: &str,
    token: &str,
    kind_s: &str,
    content_type: &str,
    content: Vec<u8>,
    now: DateTime<Utc>,
) -> Result<(), IntakeError> {
    let upload = Upload {
        kind: kind_s,
        content_type,
        content,
    };
    store_upload(engine, id, Some(token_hash(token)), "subject", upload, now).await
}

/// A document as sent.
pub(crate) struct Upload<'a> {
    /// Its kind (`mandate`, …).
    pub kind: &'a str,
    /// Its media type.
    pub content_type: &'a str,
    /// Its bytes.
    pub content: Vec<u8>,
}

/// Stores a document an authorised agent sent with its request (a DRP `power_of_attorney`),
/// once the caller has checked that the agent manages the request.
pub(crate) async fn upload_for_agent(
    engine: &Engine,
    id: &str,
    agent: &str,
    upload: Upload<'_>,
    now: DateTime<Utc>,
) -> Result<(), IntakeError> {
    store_upload(engine, id, None, &format!("agent:{agent}"), upload, now).await
}

/// Stores an uploaded document that was asked for; with `token_hash`, only for the holder of
/// the request's token.
async fn store_upload(
    engine: &Engine,
    id: &str,
    token_hash: Option<String>,
    actor: &str,
    upload: Upload<'_>,
    now: DateTime<Utc>,
) -> Result<(), IntakeError> {
    let Upload {
        kind: kind_s,
        content_type,
        content,
    } = upload;
    let k = kind(kind_s)?;
    let content_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !CONTENT_TYPES.contains(&content_type.as_str()) {
        return Err(IntakeError::Invalid(format!(
            "send the document as {}",
            CONTENT_TYPES.join(", ")
        )));
    }
    if content.is_empty() {
        return Err(IntakeError::Invalid("the document is empty".into()));
    }
    // The declared type must be the file's real type: an HTML page labelled image/png is
    // refused, so what the DPO opens is what it says (issue 12 item 11).
    if !content_matches(&content_type, &content) {
        return Err(IntakeError::Invalid(format!(
            "the file is not a {content_type} document"
        )));
    }
    let (id, actor) = (id.to_owned(), actor.to_owned());
    let size = content.len();
    engine
        .store
        .run(move |c| {
            if let Some(hash) = &token_hash
                && token_holder(c, &id, hash)?.is_none()
            {
                return Ok(Err(IntakeError::NotFound));
            }
            c.transaction(|c| {
                let at = now.naive_utc();
                if !document::upload(c, &id, k.as_str(), &content_type, &content, at)? {
                    return Ok(Err(IntakeError::Invalid(format!(
                        "no {} is asked for this request",
                        k.as_str()
                    ))));
                }
                audit::append(
                    c,
                    vec![EntryContent {
                        at: now,
                        actor: actor.clone(),
                        action: "document.received".into(),
                        target: id.clone(),
                        reason: String::new(),
                        details: serde_json::json!({"kind": k.as_str(), "bytes": size}),
                    }],
                )?;
                Ok(Ok(()))
            })
        })
        .await?
}

/// The uploaded document, for the DPO to check; `NotFound` when there is none waiting.
pub async fn content(
    engine: &Engine,
    id: &str,
    kind_s: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(String, Vec<u8>), IntakeError> {
    let k = kind(kind_s)?;
    let (id, actor) = (id.to_owned(), actor.to_owned());
    engine
        .store
        .run(move |c| {
            let Some(found) = document::content(c, &id, k.as_str())? else {
                return Ok(None);
            };
            // Reading an identity document is itself an access to personal data: logged.
            audit::append(
                c,
                vec![EntryContent {
                    at: now,
                    actor,
                    action: "document.viewed".into(),
                    target: id.clone(),
                    reason: String::new(),
                    details: serde_json::json!({"kind": k.as_str()}),
                }],
            )?;
            Ok(Some(found))
        })
        .await?
        .ok_or(IntakeError::NotFound)
}

/// Records the DPO's check of an uploaded document and deletes it (A7). An accepted identity
/// document settles a reasonable doubt: the request goes to review and its clock resumes.
pub async fn check(
    engine: &Engine,
    id: &str,
    kind_s: &str,
    accepted: bool,
    method: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Status, IntakeError> {
    let k = kind(kind_s)?;
    if method.trim().is_empty() {
        return Err(IntakeError::Invalid(
            "say how the document was checked (`method`), e.g. `name and photo compared with the account`".into(),
        ));
    }
    let (id, actor, method) = (id.to_owned(), actor.to_owned(), method.to_owned());
    let rules = engine.settings.deadlines.clone();
    engine
        .store
        .run(move |c| {
            let Some(row) = request::find(c, &id)? else {
                return Ok(Err(IntakeError::NotFound));
            };
            let doc = document::list(c, &id)?
                .into_iter()
                .find(|d| d.kind == k.as_str());
            let outcome = if accepted { "accepted" } else { "rejected" };
            let at = now.naive_utc();
            c.transaction(|c| {
                if !document::check(c, &id, k.as_str(), &actor, outcome, &method, at)? {
                    return Ok(Err(IntakeError::Invalid(format!(
                        "no uploaded {} is waiting for a check",
                        k.as_str()
                    ))));
                }
                let mut entries = vec![EntryContent {
                    at: now,
                    actor: actor.clone(),
                    action: "document.checked".into(),
                    target: id.clone(),
                    reason: method.clone(),
                    details: serde_json::json!({"kind": k.as_str(), "outcome": outcome, "deleted": true}),
                }];
                let mut status = row.status()?;
                if k == DocumentKind::IdentityDocument
                    && accepted
                    && status == Status::IdentityPending
                {
                    // The clock was paused from the doubt to this check (A5).
                    let mut clock = Clock::new(row.received_at.date());
                    clock.extended = row.extended;
                    let asked = doc.map_or(at, |d| d.requested_at);
                    clock.pauses.push(Pause {
                        paused: asked.date(),
                        resumed: Some(now.date_naive()),
                    });
                    let due = clock.due(&rules, now.date_naive());
                    status = request::transition(
                        c,
                        &id,
                        Status::AwaitingReview,
                        &actor,
                        "identity document checked",
                        at,
                    )?
                    .map_err(|e| rightful_store::StoreError::Invalid(e.to_string()))?;
                    request::set_due(c, &id, due, row.extended, at)?;
                    entries.push(EntryContent {
                        at: now,
                        actor: actor.clone(),
                        action: "identity.verified".into(),
                        target: id.clone(),
                        reason: String::new(),
                        details: serde_json::json!({"method": "identity_document", "id_checked": true, "checked_by": actor, "due_on": due}),
                    });
                }
                audit::append(c, entries)?;
                Ok(Ok(status))
            })
        })
        .await?
}

/// Records the DPO's doubt as a request for an identity document, inside the decision's
/// transaction.
pub(crate) fn request_identity_document(
    c: &mut rightful_store::DbConn,
    id: &str,
    actor: &str,
    at: NaiveDateTime,
) -> Result<(), rightful_store::StoreError> {
    document::request(c, id, DocumentKind::IdentityDocument.as_str(), actor, at)
}

/// The documents still to be accepted before the request may be approved.
pub(crate) fn unsettled(
    c: &mut rightful_store::DbConn,
    id: &str,
) -> Result<Vec<String>, rightful_store::StoreError> {
    Ok(document::list(c, id)?
        .into_iter()
        .filter(|d| d.outcome.as_deref() != Some("accepted"))
        .map(|d| d.kind)
        .collect())
}

/// Deletes uploads the DPO has not checked within `identity.document_days` (A7); returns how
/// many.
pub async fn sweep(engine: &Engine, now: DateTime<Utc>) -> Result<usize, EngineError> {
    let before = (now - chrono::Duration::days(engine.settings.identity.document_days)).naive_utc();
    Ok(engine
        .store
        .run(move |c| {
            c.transaction(|c| {
                let gone = document::purge_unchecked(c, before)?;
                let entries: Vec<EntryContent> = gone
                    .iter()
                    .map(|(r, k)| EntryContent {
                        at: now,
                        actor: "system".into(),
                        action: "document.deleted_unchecked".into(),
                        target: r.clone(),
                        reason: "not checked in time".into(),
                        details: serde_json::json!({"kind": k}),
                    })
                    .collect();
                if !entries.is_empty() {
                    audit::append(c, entries)?;
                }
                Ok(gone.len())
            })
        })
        .await?)
}

/// Whether `content` starts with the signature of `content_type` (one of [`CONTENT_TYPES`]).
pub fn content_matches(content_type: &str, content: &[u8]) -> bool {
    match content_type {
        "application/pdf" => content.starts_with(b"%PDF-"),
        "image/png" => content.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/jpeg" => content.starts_with(&[0xFF, 0xD8, 0xFF]),
        _ => false,
    }
}
