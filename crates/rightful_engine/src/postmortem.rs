//! Post-mortem directives (LIL art. 85; checklist D2): a subject registers, updates or revokes
//! specific directives (erase, keep, communicate to a named person; an optional executor). Once
//! the DPO approves the request, the directives are recorded as a new version — versions are
//! never changed, and a revocation is a version too — and the request is complete. A notice of
//! death (D6) goes through the same queue with its documents of standing (D5); carrying out the
//! directives in the stores is part of executing requests.

use crate::intake::{IntakeError, proven_subject, token_hash};
use crate::{Engine, EngineError};
use chrono::{DateTime, NaiveDateTime, Utc};
use rightful_core::audit::EntryContent;
use rightful_core::lifecycle::Status;
use rightful_store::models::{directive, request};
use rightful_store::{DbConn, StoreError};
use serde::Serialize;

/// One version of a subject's directives.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DirectiveVersion {
    /// From 1.
    pub version: i32,
    /// register, update or revoke.
    pub action: String,
    /// The directives.
    #[schema(value_type = Object)]
    pub directives: serde_json::Value,
    /// Who carries them out.
    #[schema(value_type = Object)]
    pub executor: serde_json::Value,
    /// The request that recorded it.
    pub request_id: String,
    /// When.
    pub recorded_at: NaiveDateTime,
}

/// Records the directives of approved request `id` as a new version and completes the request,
/// inside the decision's transaction; the audit entries are added to `entries`.
pub(crate) fn record_directives(
    c: &mut DbConn,
    id: &str,
    actor: &str,
    at: NaiveDateTime,
    now: DateTime<Utc>,
    entries: &mut Vec<EntryContent>,
) -> Result<Status, StoreError> {
    let subject = request::subject(c, id)?
        .ok_or_else(|| StoreError::Invalid("the request has no subject".into()))?;
    let details: serde_json::Value = serde_json::from_str(&subject.details).unwrap_or_default();
    let action = rightful_core::details::post_mortem_action(&details)
        .unwrap_or("register")
        .to_owned();
    let directives = details
        .get("directives")
        .cloned()
        .unwrap_or_else(|| serde_json::json!([]));
    let executor = details
        .get("executor")
        .filter(|e| !e.is_null())
        .map(ToString::to_string);
    let version = directive::record(
        c,
        &subject.email,
        id,
        &action,
        &directives.to_string(),
        executor.as_deref(),
        at,
    )?;
    for to in [Status::InProgress, Status::Completed] {
        request::transition(c, id, to, actor, "directives recorded", at)?
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
    }
    entries.push(EntryContent {
        at: now,
        actor: actor.to_owned(),
        action: "post_mortem.directives_recorded".into(),
        target: id.to_owned(),
        reason: String::new(),
        details: serde_json::json!({"action": action, "version": version, "specific_consent": true}),
    });
    Ok(Status::Completed)
}

fn view(v: directive::Version) -> DirectiveVersion {
    let parse = |s: &str| serde_json::from_str(s).unwrap_or(serde_json::Value::Null);
    DirectiveVersion {
        version: v.version,
        action: v.action,
        directives: parse(&v.directives),
        executor: v.executor.as_deref().map_or(serde_json::Value::Null, parse),
        request_id: v.request_id,
        recorded_at: v.recorded_at,
    }
}

/// Every version of the directives of the subject of request `id`, for the holder of its token
/// (D2: the subject sees what is recorded).
pub async fn history_for_subject(
    engine: &Engine,
    id: &str,
    token: &str,
) -> Result<Vec<DirectiveVersion>, IntakeError> {
    let (id, hash) = (id.to_owned(), token_hash(token));
    engine
        .store
        .run(move |c| {
            // Directives name heirs and their addresses: only a verified requester reads them
            // (issue 12 item 1).
            let subject = match proven_subject(c, &id, &hash)? {
                Ok(s) => s,
                Err(e) => return Ok(Err(e)),
            };
            Ok(Ok(directive::history(c, &subject.email)?))
        })
        .await?
        .map(|h| h.into_iter().map(view).collect())
}

/// The directives in force for a subject's address (for the DPO handling a notice of death).
pub async fn in_force(
    engine: &Engine,
    email: &str,
) -> Result<Option<DirectiveVersion>, EngineError> {
    let email = email.to_owned();
    Ok(engine
        .store
        .run(move |c| directive::in_force(c, &email))
        .await?
        .map(view))
}
