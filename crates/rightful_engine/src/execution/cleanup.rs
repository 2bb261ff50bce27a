//! Rightful's own copies of personal data: a request's result, stored in the engine's database
//! (`results`, `result_chunks`: issue 13 item 6), and its local work directory
//! (`<data_dir>/results/<id>`: the exported rows and the ZIP while the result is built, on the
//! server that builds it) are deleted when the download window ends, by the scheduled sweep ([`sweep`], run by `rightful reminders run` and
//! the server's `[schedule] reminders`), and when the same subject's erasure completes. Each
//! deletion is audited as `result.deleted` with the request id only; the download then answers
//! 410.

use super::results::Download;
use super::steps::{results_dir, work_dir};
use crate::{Engine, EngineError};
use chrono::{DateTime, Utc};
use rightful_core::audit::EntryContent;
use rightful_core::intake::RequestType;
use rightful_store::models::{audit, request};

/// The audit action of a deleted result.
pub const RESULT_DELETED: &str = "result.deleted";

fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> EngineError + '_ {
    move |source| EngineError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Deletes request `id`'s stored result and this server's work directory for it, and audits it
/// (`result.deleted`, the request id and `reason`); `false` when there was nothing to delete.
pub(crate) async fn delete_result(
    engine: &Engine,
    id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, EngineError> {
    let dir = work_dir(engine, id);
    let d2 = dir.clone();
    let removed = tokio::task::spawn_blocking(move || match std::fs::remove_dir_all(&d2) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    })
    .await
    .map_err(|e| EngineError::Io {
        path: dir.display().to_string(),
        source: std::io::Error::other(e.to_string()),
    })?
    .map_err(io(&dir))?;
    let id2 = id.to_owned();
    let stored = engine
        .store
        .run(move |c| {
            use diesel::Connection;
            c.transaction(|c| rightful_store::models::result::delete(c, &id2))
        })
        .await?;
    if !removed && !stored {
        return Ok(false);
    }
    let entry = EntryContent {
        at: now,
        actor: "system".into(),
        action: RESULT_DELETED.into(),
        target: id.to_owned(),
        reason: reason.to_owned(),
        details: serde_json::json!({}),
    };
    engine
        .store
        .run(move |c| audit::append(c, vec![entry]))
        .await?;
    Ok(true)
}

/// Deletes the results whose download window has ended at `now` (and the results and work
/// directories of requests that no longer exist); returns how many were deleted. The results in
/// the engine's database are swept by whichever server runs it; each server's own work
/// directories by that server.
pub async fn sweep(engine: &Engine, now: DateTime<Utc>) -> Result<usize, EngineError> {
    let root = results_dir(engine);
    let mut ids: Vec<String> = match std::fs::read_dir(&root) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io(&root)(e)),
    };
    ids.extend(
        engine
            .store
            .run(rightful_store::models::result::ids)
            .await?,
    );
    ids.sort();
    ids.dedup();
    let mut deleted = 0;
    for id in ids {
        let reason = match super::results::download(engine, &id, now.naive_utc()).await? {
            Download::Expired => "the download window ended",
            Download::Missing => {
                let id2 = id.clone();
                if engine
                    .store
                    .run(move |c| request::find(c, &id2))
                    .await?
                    .is_some()
                {
                    continue;
                }
                "no such request"
            }
            Download::Ready { .. } => {
                // The result is stored: a local work directory is what a crash left between
                // building the ZIP and deleting it.
                let rows = work_dir(engine, &id);
                match std::fs::remove_dir_all(&rows) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io(&rows)(e)),
                }
                continue;
            }
            Download::NotReady(_) => continue,
        };
        if delete_result(engine, &id, reason, now).await? {
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// When a subject's erasure (request `id`) completes, Rightful's own earlier copies of their
/// data go too: the results of their other completed access and portability requests (same
/// e-mail addresses), each deletion audited. Earlier certificates, which copy no personal data
/// and prove what was done, stay until their own window ends. Returns how many were deleted.
pub(crate) async fn delete_earlier_results(
    engine: &Engine,
    id: &str,
    emails: Vec<String>,
    now: DateTime<Utc>,
) -> Result<usize, EngineError> {
    let id2 = id.to_owned();
    let others = engine
        .store
        .run(move |c| {
            request::completed_by_emails(
                c,
                &emails,
                &[
                    RequestType::Access.as_str(),
                    RequestType::Portability.as_str(),
                ],
                &id2,
            )
        })
        .await?;
    let mut deleted = 0;
    for other in others {
        let reason = format!("the subject's erasure {id} completed");
        if delete_result(engine, &other, &reason, now).await? {
            deleted += 1;
        }
    }
    Ok(deleted)
}
