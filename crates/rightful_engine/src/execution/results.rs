//! `finalize`: verification after an erasure, the result the subject downloads, the signed
//! erasure certificate, the completion notice.
//!
//! - Access (Art. 15, B1–B6): `report.json` with, for every purpose the subject appears in,
//!   items (a)–(h) of Art. 15(1) and the transfer safeguards of 15(2) — recipients named,
//!   retention stated — or an explicit negative confirmation; `data/<store>.json`, a faithful
//!   copy of every record found, streamed; `glossary.json` for the codes; `report.html`.
//! - Portability (Art. 20, C6): `<purpose>.json` and `<purpose>.csv` per eligible purpose, only
//!   the categories the subject provided, `manifest.json`, and `not_eligible.json` with reasons.
//! - Erasure and the other changes: every store is searched again; if anything that should be
//!   gone remains, the request fails. Otherwise `certificate.json` and `certificate.jws` (signed
//!   by Rightful's key) list each store, what was erased, what was kept and why — always, also
//!   when nothing was found or everything was kept (its `outcome` says so).
//!
//! A store whose map declares no identity kind the subject gave (the logs, searchable by IP
//! address only, for a subject known by an e-mail address) could not be searched: the report,
//! the certificate and the completion notice name it and the identifier that would let it be
//! searched (Art. 11(2), 12(6)) instead of saying that nothing is held.
//!
//! Files: the work directory and everything in it are private (`0700`/`0600`); the exported
//! rows are deleted as soon as the ZIP is written. The ZIP is then stored in the engine's
//! database in chunks (issue 13 item 6: every server serves it) and the work directory deleted;
//! the stored result goes when the download window ends (see `cleanup`).

use super::StepEnd;
use super::steps::{context, plan_of, work_dir};
use crate::Engine;
use chrono::Utc;
use rightful_core::intake::RequestType;
use rightful_core::lifecycle::Status;
use rightful_core::rights::{Action, Plan, SubjectFacts};
use rightful_store::models::job::{self, Job};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// The signed erasure certificate's claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// The controller.
    pub iss: String,
    /// The request id.
    pub sub: String,
    /// `rightful.erasure_certificate`.
    pub typ: String,
    /// The request type.
    pub request_type: String,
    /// When the stores were searched again, RFC 3339.
    pub verified_at: String,
    /// Per store: what was changed (`[table, operation, rows]`) and the rows still found.
    pub stores: Vec<serde_json::Value>,
    /// What was kept, with its ground, reference and date (partial refusal, A10).
    pub kept: Vec<serde_json::Value>,
    /// Processors told (Art. 19).
    pub processors: Vec<serde_json::Value>,
    /// Issued at.
    pub iat: i64,
    /// What the request came to: `nothing found`, `nothing changed: everything found is kept`,
    /// `nothing changed`, or `carried out`.
    #[serde(default)]
    pub outcome: String,
    /// The stores that could not be searched with the identities the subject gave, each with
    /// the identity kinds that would let it be searched (Art. 11(2)).
    #[serde(default)]
    pub not_searched: Vec<serde_json::Value>,
}

/// Where the result ZIP of a request is built on the server that finalizes it, before it is
/// stored in the engine's database (issue 13 item 6) and this file deleted.
pub fn result_path(engine: &Engine, id: &str) -> PathBuf {
    work_dir(engine, id).join("result.zip")
}

/// Whether a request's result can be downloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Download {
    /// Yes: the ZIP is stored in the engine's database, until when.
    Ready {
        /// Its size in bytes.
        size: i64,
        /// Its SHA-256, hex.
        sha256: String,
        /// The end of the download window (`execution.download_days` after completion).
        until: chrono::NaiveDateTime,
    },
    /// The request is not completed (its status).
    NotReady(Status),
    /// The window has closed.
    Expired,
    /// No such request, or it produced no file.
    Missing,
}

/// Whether the result of request `id` can be downloaded at `now` — one rule for the subject's
/// download and the DRP agent's `results_url`.
pub async fn download(
    engine: &Engine,
    id: &str,
    now: chrono::NaiveDateTime,
) -> Result<Download, crate::EngineError> {
    let id2 = id.to_owned();
    let (row, events) = engine
        .store
        .run(move |c| {
            Ok((
                rightful_store::models::request::find(c, &id2)?,
                rightful_store::models::request::events(c, &id2)?,
            ))
        })
        .await?;
    let Some(row) = row else {
        return Ok(Download::Missing);
    };
    let status = row.status()?;
    if status != Status::Completed {
        return Ok(Download::NotReady(status));
    }
    let completed = events
        .iter()
        .rev()
        .find(|e| e.to_status == Status::Completed.as_str())
        .map_or(row.updated_at, |e| e.at);
    let until = completed + chrono::Duration::days(engine.settings.execution.download_days);
    if now > until {
        return Ok(Download::Expired);
    }
    let id2 = id.to_owned();
    let stored = engine
        .store
        .run(move |c| rightful_store::models::result::find(c, &id2))
        .await?;
    let Some(stored) = stored else {
        // Deleted before its window ended (the subject's erasure completed): gone, like an
        // expired one.
        let id2 = id.to_owned();
        let deleted = engine
            .store
            .run(move |c| {
                rightful_store::models::audit::exists(c, super::cleanup::RESULT_DELETED, &id2)
            })
            .await?;
        return Ok(if deleted {
            Download::Expired
        } else {
            Download::Missing
        });
    };
    Ok(Download::Ready {
        size: stored.size,
        sha256: stored.sha256,
        until,
    })
}

/// Chunk `seq` (from 0) of request `id`'s stored result, `None` past the last one: a download
/// reads one chunk at a time, from any server sharing the engine's database.
pub async fn result_chunk(
    engine: &Engine,
    id: &str,
    seq: i32,
) -> Result<Option<Vec<u8>>, crate::EngineError> {
    let id = id.to_owned();
    Ok(engine
        .store
        .run(move |c| rightful_store::models::result::chunk(c, &id, seq))
        .await?)
}

/// Request `id`'s stored result (size, SHA-256, when), if there is one.
pub async fn stored_result(
    engine: &Engine,
    id: &str,
) -> Result<Option<rightful_store::models::result::Stored>, crate::EngineError> {
    let id = id.to_owned();
    Ok(engine
        .store
        .run(move |c| rightful_store::models::result::find(c, &id))
        .await?)
}

/// Stores the ZIP built at [`result_path`] in the engine's database, in chunks, in one
/// transaction (replacing an earlier one), then deletes the request's local work directory
/// (the ZIP and the exported rows). Memory stays bounded: one chunk at a time.
async fn store_result(
    engine: &Engine,
    id: &str,
) -> Result<rightful_store::models::result::Stored, String> {
    use rightful_store::models::result as r;
    use sha2::Digest;
    use std::io::Read;
    let path = result_path(engine, id);
    let p2 = path.clone();
    // First pass: size and hash.
    let (size, sha256) = tokio::task::spawn_blocking(move || -> std::io::Result<(i64, String)> {
        let mut f = std::fs::File::open(&p2)?;
        let mut h = sha2::Sha256::new();
        let mut buf = vec![0u8; r::CHUNK];
        let mut size = 0i64;
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            size += i64::try_from(n).unwrap_or(i64::MAX);
        }
        Ok((size, format!("{:x}", h.finalize())))
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("cannot read the result: {e}"))?;
    let (id2, p2, sha2, at) = (
        id.to_owned(),
        path.clone(),
        sha256.clone(),
        Utc::now().naive_utc(),
    );
    engine
        .store
        .run(move |c| {
            use diesel::Connection;
            c.transaction(|c| {
                r::delete(c, &id2)?;
                let io = |e: std::io::Error| {
                    rightful_store::StoreError::Invalid(format!("cannot read the result: {e}"))
                };
                let mut f = std::fs::File::open(&p2).map_err(io)?;
                let mut buf = vec![0u8; r::CHUNK];
                let mut seq = 0;
                loop {
                    // Fill a whole chunk (a read may return less).
                    let mut n = 0;
                    while n < buf.len() {
                        let got = f.read(&mut buf[n..]).map_err(io)?;
                        if got == 0 {
                            break;
                        }
                        n += got;
                    }
                    if n == 0 {
                        break;
                    }
                    r::put_chunk(c, &id2, seq, &buf[..n])?;
                    seq += 1;
                }
                r::finish(c, &id2, size, &sha2, at)
            })
        })
        .await
        .map_err(|e| format!("cannot store the result: {e}"))?;
    let dir = work_dir(engine, id);
    match tokio::task::spawn_blocking(move || std::fs::remove_dir_all(dir)).await {
        Ok(Err(e)) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(format!("cannot delete the local copy of the result: {e}"));
        }
        _ => {}
    }
    Ok(r::Stored {
        request_id: id.to_owned(),
        size,
        sha256,
        created_at: at,
    })
}

/// The identity kinds store `s`'s map searches by.
fn store_kinds(s: &crate::stores::Store) -> BTreeSet<String> {
    s.map
        .tables
        .iter()
        .flat_map(|t| t.identities().map(|(_, k)| k.to_owned()))
        .collect()
}

/// Art. 11(2), 12(6): the stores that could not be searched with the identities known for the
/// subject (none of the kinds their map searches by was given or found), each with those kinds.
fn not_searched(engine: &Engine, ids: &rightful_connectors::Identities) -> Vec<serde_json::Value> {
    engine
        .stores
        .iter()
        .filter_map(|s| {
            let kinds = store_kinds(s);
            let searchable = kinds
                .iter()
                .any(|k| ids.get(k).is_some_and(|v| !v.is_empty()));
            (!searchable).then(|| {
                serde_json::json!({
                    "store": s.map.name,
                    "searchable_by": kinds,
                    "reason": "none of the identifiers this system is searched by was given or found",
                })
            })
        })
        .collect()
}

/// A readable name for an identity kind (`ip_address` → `IP address`).
fn kind_label(kind: &str, fr: bool) -> String {
    match (kind, fr) {
        ("ip_address", false) => "IP address".into(),
        ("ip_address", true) => "adresse IP".into(),
        ("email", false) => "e-mail address".into(),
        ("email", true) => "adresse e-mail".into(),
        (other, _) => other.replace('_', " "),
    }
}

/// One sentence per store not searched, for the report and the completion notice.
fn not_searched_lines(not_searched: &[serde_json::Value], fr: bool) -> Vec<String> {
    not_searched
        .iter()
        .map(|n| {
            let kinds: Vec<String> = n["searchable_by"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|k| k.as_str())
                .map(|k| kind_label(k, fr))
                .collect();
            let (store, kinds) = (n["store"].as_str().unwrap_or(""), kinds.join(", "));
            if fr {
                format!("Non consulté : {store} — ce système ne peut être consulté que par : {kinds}. Communiquez-nous cet identifiant et nous le consulterons (articles 11.2 et 12.6 du RGPD).")
            } else {
                format!("Not searched: {store} — this system can only be searched by: {kinds}. Send us that identifier and we will search it (Art. 11(2), 12(6)).")
            }
        })
        .collect()
}

fn result_of(j: &Job) -> serde_json::Value {
    j.result
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok())
        .unwrap_or_default()
}

/// Whether some rows of store `store` found after an erasure should be gone: a table whose every
/// category was erased and whose rows are deleted, or a table where the subject is still found
/// through a column whose category was erased.
fn leftovers(
    engine: &Engine,
    store: &str,
    found: &rightful_connectors::Found,
    plan: &Plan,
) -> Vec<String> {
    let Some(s) = engine.stores.iter().find(|s| s.map.name == store) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for hit in &found.hits {
        let Some(t) = s.map.table(&hit.table) else {
            continue;
        };
        let erased: BTreeSet<_> = t
            .categories()
            .into_iter()
            .filter(|c| {
                matches!(
                    plan.action(t.purpose.as_ref(), c.as_ref()),
                    Some(Action::Erase { .. } | Action::Anonymise { .. })
                )
            })
            .collect();
        if erased.is_empty() {
            continue;
        }
        let all = erased == t.categories();
        let through_erased = t.columns.iter().any(|col| {
            col.identity.is_some()
                && col
                    .field
                    .as_ref()
                    .is_some_and(|(_, cat, _)| erased.contains(cat))
        });
        if (all && t.erase == rightful_core::storemap::TableErase::Delete) || through_erased {
            out.push(format!("{}: {} row(s)", hit.table, hit.rows));
        }
    }
    out
}

/// The identity kinds held in a column whose category the plan erases.
fn erased_identity_kinds(engine: &Engine, plan: &Plan) -> BTreeSet<String> {
    engine
        .stores
        .iter()
        .flat_map(|s| &s.map.tables)
        .flat_map(|t| t.columns.iter().map(move |c| (t, c)))
        .filter(|(t, c)| {
            c.field.as_ref().is_some_and(|(_, cat, _)| {
                matches!(
                    plan.action(t.purpose.as_ref(), cat.as_ref()),
                    Some(Action::Erase { .. } | Action::Anonymise { .. })
                )
            })
        })
        .filter_map(|(_, c)| c.identity.clone())
        .collect()
}

/// `finalize`.
pub(crate) async fn finalize(engine: &Engine, j: &Job) -> StepEnd {
    let ctx = match context(engine, &j.request_id).await {
        Ok(c) => c,
        Err(end) => return end,
    };
    let plan = plan_of(&ctx.execution);
    let facts: SubjectFacts = ctx
        .execution
        .plan
        .as_deref()
        .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
        .and_then(|v| serde_json::from_value(v["facts"].clone()).ok())
        .unwrap_or_default();
    let id = j.request_id.clone();
    let id2 = id.clone();
    let jobs = match engine.store.run(move |c| job::for_request(c, &id2)).await {
        Ok(j) => j,
        Err(e) => return StepEnd::Retry(e.to_string()),
    };
    let last_round = jobs
        .iter()
        .filter(|j| j.step == "discover")
        .map(|j| j.round)
        .max()
        .unwrap_or(0);
    let searched: BTreeMap<String, serde_json::Value> = jobs
        .iter()
        .filter(|j| j.step == "discover" && j.round == last_round)
        .map(|j| (j.store.clone(), result_of(j)))
        .collect();
    let applied: BTreeMap<String, serde_json::Value> = jobs
        .iter()
        .filter(|j| j.step == "apply")
        .map(|j| (j.store.clone(), result_of(j)))
        .collect();
    let notified: Vec<serde_json::Value> = jobs
        .iter()
        .filter(|j| j.step == "notify")
        .flat_map(|j| {
            result_of(j)["notifications"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    let kept: Vec<serde_json::Value> = plan
        .kept()
        .map(|i| serde_json::json!({"purpose": i.purpose, "category": i.category, "action": i.action}))
        .collect();
    let not_applicable: Vec<serde_json::Value> = plan
        .not_applicable()
        .map(|i| serde_json::json!({"purpose": i.purpose, "category": i.category, "action": i.action}))
        .collect();
    let changes_data = plan
        .items
        .iter()
        .any(|i| matches!(i.action, Action::Erase { .. } | Action::Anonymise { .. }));
    let known: rightful_connectors::Identities =
        serde_json::from_str(&ctx.execution.identities).unwrap_or_default();
    let not_searched = not_searched(engine, &known);
    let found_any = searched
        .values()
        .any(|r| r["hits"].as_array().is_some_and(|h| !h.is_empty()));
    let changed = applied
        .values()
        .any(|r| r["changes"].as_array().is_some_and(|c| !c.is_empty()));
    // Erasure and the other data-changing types always end on a signed certificate, also when
    // nothing was found or everything was kept (issue 12 item 9).
    let certifies = changes_data
        || super::notifies(ctx.kind)
        || (ctx.kind == RequestType::PostMortem && !plan.items.is_empty());
    let dir = work_dir(engine, &id);
    // Personal data: a 0700 directory, 0600 files.
    let private = rightful_store::private::dir(&super::steps::results_dir(engine))
        .and_then(|()| rightful_store::private::dir(&dir));
    if let Err(e) = private {
        return StepEnd::Retry(format!("cannot write the result: {e}"));
    }
    // 1. After an erasure, search every store again (C2–C4): nothing that should be gone may
    //    remain.
    let mut verified_stores = Vec::new();
    if changes_data {
        // The subject must no longer be found by any identity held in an erased column (an
        // anonymised customer row stays reachable by its key from the invoices kept, which is
        // right; it must not be reachable by the e-mail address any more).
        let erased_kinds = erased_identity_kinds(engine, &plan);
        let ids: rightful_connectors::Identities =
            serde_json::from_str::<rightful_connectors::Identities>(&ctx.execution.identities)
                .unwrap_or_default()
                .into_iter()
                .filter(|(k, _)| erased_kinds.contains(k))
                .collect();
        for s in engine.stores.iter() {
            let (engine2, name, ids2) = (engine.clone(), s.map.name.clone(), ids.clone());
            let found =
                match super::steps::blocking(move || engine2.connector(&name)?.discover(&ids2))
                    .await
                {
                    Ok(f) => f,
                    Err(end) => return end,
                };
            let left = leftovers(engine, &s.map.name, &found, &plan);
            if !left.is_empty() {
                return StepEnd::Fail(format!(
                    "after the erasure, store `{}` still holds what should be gone: {}",
                    s.map.name,
                    left.join(", ")
                ));
            }
            verified_stores.push(serde_json::json!({
                "store": s.map.name,
                "searched_at": searched.get(&s.map.name).map(|r| r["searched_at"].clone()),
                "found_before": searched.get(&s.map.name).map(|r| r["hits"].clone()),
                "changes": applied.get(&s.map.name).map(|r| r["changes"].clone()),
                "still_found": found.hits.iter().map(|h| serde_json::json!({"table": h.table, "rows": h.rows})).collect::<Vec<_>>(),
            }));
        }
    } else if certifies {
        // Nothing was erased: the stores as searched, nothing to search again.
        for s in engine.stores.iter() {
            verified_stores.push(serde_json::json!({
                "store": s.map.name,
                "searched_at": searched.get(&s.map.name).map(|r| r["searched_at"].clone()),
                "found_before": searched.get(&s.map.name).map(|r| r["hits"].clone()),
                "changes": applied.get(&s.map.name).map(|r| r["changes"].clone()),
                "still_found": serde_json::Value::Null,
            }));
        }
    }
    // 2. The result file. A result stored by an earlier attempt (on any server) is the result.
    let stored = match stored_result(engine, &id).await {
        Ok(s) => s,
        Err(e) => return StepEnd::Retry(e.to_string()),
    };
    let exports = matches!(ctx.kind, RequestType::Access | RequestType::Portability);
    if exports && stored.is_none() {
        // Issue 13 item 6: an `apply` that ran on another server left its rows there; they are
        // exported again here (read only, the same identities), never read from elsewhere.
        let ids = super::steps::identities(&ctx.execution);
        for store in applied.keys() {
            if super::steps::rows_path(&dir, store).exists() {
                continue;
            }
            let (engine2, store2, ids2, dir2) =
                (engine.clone(), store.clone(), ids.clone(), dir.clone());
            let exported = super::steps::blocking(move || {
                let connector = engine2.connector(&store2)?;
                let found = connector.discover(&ids2)?;
                super::steps::write_rows(&connector, &found, &store2, &dir2)
            })
            .await;
            if let Err(end) = exported {
                return end;
            }
        }
    }
    let rows_dir = dir.join("rows");
    let written = match ctx.kind {
        _ if stored.is_some() => Ok(None),
        RequestType::Access => access_zip(engine, &id, &dir, &facts, &searched, &not_searched),
        RequestType::Portability => portability_zip(engine, &id, &dir, &plan),
        _ => Ok(None),
    };
    // The intermediates go as soon as the ZIP is written (issue 12 item 6).
    let written = written.and_then(|w| match std::fs::remove_dir_all(&rows_dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(w),
    });
    let mut outcome = serde_json::json!({
        "request_type": ctx.kind.as_str(),
        "stores": searched.iter().map(|(s, r)| serde_json::json!({"store": s, "searched_at": r["searched_at"], "hits": r["hits"]})).collect::<Vec<_>>(),
        "not_searched": not_searched,
        "applied": applied,
        "kept": kept,
        "not_applicable": not_applicable,
        "processors": notified,
    });
    let mut wrote = match written {
        Ok(w) => w.is_some(),
        Err(e) => return StepEnd::Retry(format!("cannot write the result: {e}")),
    };
    if certifies {
        let cert = Certificate {
            iss: engine.policy.controller.party.name.clone(),
            sub: id.clone(),
            typ: "rightful.erasure_certificate".into(),
            request_type: ctx.kind.as_str().into(),
            verified_at: Utc::now().to_rfc3339(),
            stores: verified_stores,
            kept: kept.clone(),
            processors: notified.clone(),
            iat: Utc::now().timestamp(),
            outcome: match (found_any, changed, kept.is_empty()) {
                (false, _, _) => "nothing found",
                (true, false, false) => "nothing changed: everything found is kept",
                (true, false, true) => "nothing changed",
                (true, true, _) => "carried out",
            }
            .into(),
            not_searched: not_searched.clone(),
        };
        let Some(jws) = engine.signer.sign(&cert) else {
            return StepEnd::Fail("cannot sign the certificate".into());
        };
        let zipped = write_zip(&result_path(engine, &id), |z| {
            entry(
                z,
                "certificate.json",
                serde_json::to_vec_pretty(&cert).unwrap_or_default(),
            )?;
            entry(z, "certificate.jws", jws.clone().into_bytes())
        });
        if let Err(e) = zipped {
            return StepEnd::Retry(format!("cannot write the result: {e}"));
        }
        outcome["certificate"] = jws.into();
        wrote = true;
    }
    // Issue 13 item 6: the result goes to the engine's database, where every server finds it;
    // the local copy goes.
    let stored = if wrote {
        match store_result(engine, &id).await {
            Ok(s) => Some(s),
            Err(e) => return StepEnd::Retry(e),
        }
    } else {
        stored
    };
    if let Some(s) = &stored {
        outcome["result"] = serde_json::json!({"size": s.size, "sha256": s.sha256});
    }
    // C6, Art. 20(2): sent directly to the controller the subject named, where technically
    // feasible; a failure is recorded and the subject can still download the files.
    if ctx.kind == RequestType::Portability
        && let Some(url) = ctx.details.get("transmit_to").and_then(|u| u.as_str())
    {
        outcome["transmission"] = transmit(engine, &id, url).await;
    }
    // C7: a marketing objection is honoured later: only a keyed hash of the address stays, per
    // marketing purpose, for the site's mailing tools to check.
    if !plan.suppression.is_empty() {
        let ids: rightful_connectors::Identities =
            serde_json::from_str(&ctx.execution.identities).unwrap_or_default();
        let emails: Vec<String> = ids.get("email").into_iter().flatten().cloned().collect();
        let purposes: Vec<String> = plan.suppression.iter().map(|p| p.to_string()).collect();
        let key = match crate::stores::hash_key(&engine.settings) {
            Ok(k) => k,
            Err(e) => return StepEnd::Retry(e.to_string()),
        };
        let (id2, at) = (id.clone(), Utc::now().naive_utc());
        let added = engine
            .store
            .run(move |c| {
                for p in &purposes {
                    for e in &emails {
                        let h = crate::suppression::hash(&key, e);
                        rightful_store::models::suppression::add(c, p, &h, &id2, at)?;
                    }
                }
                Ok(())
            })
            .await;
        if let Err(e) = added {
            return StepEnd::Retry(e.to_string());
        }
        outcome["suppressed_for"] = serde_json::json!(plan.suppression);
    }
    // The subject takes back an objection to direct marketing (opts in again): the suppression
    // entries of the purposes named go; marketing may resume only on its own legal basis.
    if ctx.kind == RequestType::Objection
        && ctx.details.get("withdraw") == Some(&serde_json::Value::Bool(true))
    {
        let purposes: Vec<String> = ctx
            .details
            .get("purposes")
            .and_then(|p| serde_json::from_value(p.clone()).ok())
            .unwrap_or_default();
        let key = match crate::stores::hash_key(&engine.settings) {
            Ok(k) => k,
            Err(e) => return StepEnd::Retry(e.to_string()),
        };
        let ids: rightful_connectors::Identities =
            serde_json::from_str(&ctx.execution.identities).unwrap_or_default();
        let hashes: Vec<String> = ids
            .get("email")
            .into_iter()
            .flatten()
            .map(|e| crate::suppression::hash(&key, e))
            .collect();
        let p2 = purposes.clone();
        let removed = engine
            .store
            .run(move |c| {
                let mut n = 0;
                for p in &p2 {
                    for h in &hashes {
                        n += rightful_store::models::suppression::remove(c, p, h)?;
                    }
                }
                Ok(n)
            })
            .await;
        match removed {
            Ok(_) => outcome["unsuppressed_for"] = serde_json::json!(purposes),
            Err(e) => return StepEnd::Retry(e.to_string()),
        }
    }
    // D1, D6 (iv): a verified notice of death marks the subject deceased; without directives to
    // carry out, the heirs' limited rights apply (LIL art. 85-II).
    if ctx.kind == RequestType::PostMortem
        && ctx.details.get("action").and_then(|a| a.as_str()) == Some("notice_of_death")
    {
        let deceased = ctx
            .details
            .pointer("/deceased/email")
            .and_then(|e| e.as_str())
            .and_then(|e| rightful_core::intake::SubjectEmail::parse(e).ok())
            .map(|e| e.as_ref().to_owned());
        if let Some(email) = deceased {
            let (id2, at) = (id.clone(), Utc::now().naive_utc());
            if let Err(e) = engine
                .store
                .run(move |c| rightful_store::models::directive::record_death(c, &email, &id2, at))
                .await
            {
                return StepEnd::Retry(e.to_string());
            }
        }
        outcome["post_mortem"] = if plan.items.is_empty() {
            "No directives to erase were registered: the death is recorded; the heirs may ask, free of charge, for the accounts to be closed, for processing to stop or for the data to be updated, and for proof that it was done (LIL art. 85-II).".into()
        } else {
            "The deceased's directives were carried out; records the law requires us to keep stay (LIL art. 85).".into()
        };
    }
    // 3. Record, complete, tell the subject — in one transaction (issue 14): the outcome, the
    //    request completed with its audit entry, and the completion notice as an outbox row keyed
    //    by (request, `completed`), sent after the commit at most once. A finalize run again (after
    //    a crash before its step was journalled) finds the key and writes no second notice.
    let now = Utc::now();
    let notice = {
        let id3 = id.clone();
        match engine
            .store
            .run(move |c| crate::intake::Notice::of(c, &id3))
            .await
        {
            Ok(n) => n,
            Err(e) => return StepEnd::Retry(e.to_string()),
        }
    };
    let mail = notice.and_then(|n| {
        let fr = crate::notices::language(engine, Some(&n.language)) == "fr";
        let summary = summary_text(&outcome, fr);
        let days = engine.settings.execution.download_days;
        let download = match (outcome.get("result").is_some(), fr) {
            (false, _) => String::new(),
            (true, true) => format!(
                "Téléchargement : GET /v1/requests/{id}/result avec le jeton de votre demande (pendant {days} jours)."
            ),
            (true, false) => format!(
                "Download: GET /v1/requests/{id}/result with your request token (for {days} days)."
            ),
        };
        n.outbox_mail(
            engine,
            "completed",
            vec![("summary", summary), ("download", download)],
            now.naive_utc(),
        )
    });
    let (id2, o) = (id.clone(), outcome.to_string());
    let completed = engine
        .store
        .run(move |c| {
            use diesel::Connection;
            c.transaction(|c| {
                job::set_outcome(c, &id2, &o, now.naive_utc())?;
                let moved = match rightful_store::models::request::find(c, &id2)? {
                    Some(row) => {
                        let from = row.status()?;
                        from != Status::Completed
                            && from.transition(Status::Completed).is_ok()
                            && rightful_store::models::request::transition(
                                c,
                                &id2,
                                Status::Completed,
                                "system",
                                "carried out in every store",
                                now.naive_utc(),
                            )?
                            .is_ok()
                    }
                    None => false,
                };
                if moved {
                    rightful_store::models::audit::append(
                        c,
                        vec![rightful_core::audit::EntryContent {
                            at: now,
                            actor: "system".into(),
                            action: format!("request.{}", Status::Completed.as_str()),
                            target: id2.clone(),
                            reason: "carried out in every store".into(),
                            details: serde_json::json!({}),
                        }],
                    )?;
                }
                if let Some(m) = &mail {
                    rightful_store::models::outbox::enqueue(c, m)?;
                }
                Ok(())
            })
        })
        .await;
    if let Err(e) = completed {
        return StepEnd::Retry(e.to_string());
    }
    // Issue 12 item 6: the subject's erasure done, Rightful's own earlier copies of their data
    // (an access result, portability files) go too.
    if ctx.kind == RequestType::Erasure || (ctx.kind == RequestType::PostMortem && changes_data) {
        let emails: Vec<String> = known
            .get("email")
            .into_iter()
            .flatten()
            .map(|e| e.to_lowercase())
            .collect();
        if let Err(e) = super::cleanup::delete_earlier_results(engine, &id, emails, now).await {
            tracing::error!(request.id = %id, error = %e, "earlier results of the subject not deleted");
        }
    }
    // After the commit: the notice goes now; a failure leaves it due, retried by the workers.
    if let Err(e) = crate::outbox::deliver_due(engine, Some(&id)).await {
        tracing::warn!(request.id = %id, error = %e, "the completion notice will be sent later");
    }
    StepEnd::Done(serde_json::json!({"completed": true}))
}

/// POSTs the portability ZIP to `url` (`application/zip`, `Rightful-Request: <id>`).
async fn transmit(engine: &Engine, id: &str, url: &str) -> serde_json::Value {
    let allowed = url.starts_with("https://")
        || (engine.settings.execution.allow_plain_http_transmit && url.starts_with("http://"));
    if !allowed {
        return serde_json::json!({"status": "refused", "reason": "only https:// addresses receive personal data"});
    }
    // The stored ZIP, read back from the engine's database.
    let mut bytes = Vec::new();
    for seq in 0.. {
        match result_chunk(engine, id, seq).await {
            Ok(Some(c)) => bytes.extend(c),
            Ok(None) => break,
            Err(_) => {
                return serde_json::json!({"status": "failed", "reason": "the files could not be read"});
            }
        }
    }
    let sent = async {
        crate::http_client()
            .post(url)
            .timeout(std::time::Duration::from_secs(30))
            .header("Content-Type", "application/zip")
            .header("Rightful-Request", id)
            .body(bytes)
            .send()
            .await?
            .error_for_status()
    }
    .await;
    match sent {
        Ok(r) => {
            serde_json::json!({"status": "delivered", "http_status": r.status().as_u16(), "at": Utc::now()})
        }
        Err(e) => serde_json::json!({"status": "failed", "reason": e.without_url().to_string()}),
    }
}

/// A few plain lines for the completion notice, in French or English: what was done, what was
/// kept and why (A10), what was not covered.
fn summary_text(outcome: &serde_json::Value, fr: bool) -> String {
    let t = |en: &str, fr_text: &str| {
        if fr {
            fr_text.to_owned()
        } else {
            en.to_owned()
        }
    };
    let mut lines = Vec::new();
    if let Some(applied) = outcome["applied"].as_object() {
        for (store, r) in applied {
            if let Some(n) = r["exported"].as_u64() {
                lines.push(if fr {
                    format!("- {store} : {n} enregistrement(s) copié(s)")
                } else {
                    format!("- {store}: {n} record(s) copied")
                });
            }
            for ch in r["changes"].as_array().into_iter().flatten() {
                let (op, n, table) = (
                    ch[1].as_str().unwrap_or(""),
                    &ch[2],
                    ch[0].as_str().unwrap_or(""),
                );
                let op = match (op, fr) {
                    ("delete", true) => "supprimé(s) :",
                    ("anonymise", true) => "anonymisé(s) :",
                    ("rectify", true) => "rectifié(s) :",
                    ("restrict", true) => "limité(s) :",
                    (other, _) => other,
                };
                lines.push(if fr {
                    format!("- {store} : {n} enregistrement(s) {op} {table}")
                } else {
                    format!("- {store}: {op} {n} record(s) in {table}")
                });
            }
        }
    }
    let not_searched: Vec<serde_json::Value> = outcome["not_searched"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if lines.is_empty() && not_searched.is_empty() {
        lines.push(t(
            "- No record about you was found in our systems, or none needed changing.",
            "- Aucune donnée vous concernant n'a été trouvée dans nos systèmes, ou aucune n'avait à être modifiée.",
        ));
    } else if lines.is_empty() {
        // Not "we hold nothing": some systems could not be searched (Art. 11(2), 12(6)).
        lines.push(t(
            "- No record about you was found in the systems we could search with what you gave us, or none needed changing.",
            "- Aucune donnée vous concernant n'a été trouvée dans les systèmes que nous avons pu consulter avec ce que vous nous avez donné, ou aucune n'avait à être modifiée.",
        ));
    }
    lines.extend(
        not_searched_lines(&not_searched, fr)
            .into_iter()
            .map(|l| format!("- {l}")),
    );
    if let Some(purposes) = outcome["unsuppressed_for"].as_array() {
        let names: Vec<&str> = purposes.iter().filter_map(|p| p.as_str()).collect();
        lines.push(if fr {
            format!(
                "- Votre opposition à la prospection est levée pour : {}.",
                names.join(", ")
            )
        } else {
            format!(
                "- Your objection to direct marketing is taken back for: {}.",
                names.join(", ")
            )
        });
    }
    if let Some(pm) = outcome["post_mortem"].as_str() {
        lines.push(match (fr, pm.starts_with("No directives")) {
            (false, _) => format!("- {pm}"),
            (true, true) => "- Aucune directive d'effacement n'était enregistrée : le décès est enregistré ; les héritiers peuvent demander, gratuitement, la clôture des comptes, l'arrêt des traitements ou la mise à jour des données, et la justification que cela a été fait (loi Informatique et Libertés, art. 85-II).".into(),
            (true, false) => "- Les directives de la personne décédée ont été exécutées ; les données que la loi nous impose de conserver le sont (loi Informatique et Libertés, art. 85).".into(),
        });
    }
    for k in outcome["kept"].as_array().into_iter().flatten() {
        let (purpose, category, reference) = (
            k["purpose"].as_str().unwrap_or(""),
            k["category"].as_str().unwrap_or(""),
            k["action"]["reference"].as_str().unwrap_or(""),
        );
        lines.push(match (fr, k["action"]["until"].as_str()) {
            (false, Some(d)) => format!("- Kept: {purpose} / {category} — {reference} (until {d})"),
            (false, None) => format!("- Kept: {purpose} / {category} — {reference} (until the end of its retention period)"),
            (true, Some(d)) => format!("- Conservé : {purpose} / {category} — {reference} (jusqu'au {d})"),
            (true, None) => format!("- Conservé : {purpose} / {category} — {reference} (jusqu'à la fin de sa durée de conservation)"),
        });
    }
    match outcome["transmission"]["status"].as_str() {
        Some("delivered") => lines.push(t(
            "- Your data was sent to the controller you named (Art. 20(2)).",
            "- Vos données ont été transmises au responsable de traitement que vous avez désigné (article 20.2 du RGPD).",
        )),
        Some(_) => lines.push(t(
            "- Your data could not be sent to the controller you named; you can download it instead.",
            "- Vos données n'ont pas pu être transmises au responsable de traitement désigné ; vous pouvez les télécharger.",
        )),
        None => {}
    }
    for k in outcome["not_applicable"].as_array().into_iter().flatten() {
        let (purpose, category, reason) = (
            k["purpose"].as_str().unwrap_or(""),
            k["category"].as_str().unwrap_or(""),
            k["action"]["reason"].as_str().unwrap_or(""),
        );
        lines.push(if fr {
            format!("- Non concerné : {purpose} / {category} — {reason}")
        } else {
            format!("- Not covered: {purpose} / {category} — {reason}")
        });
    }
    lines.join("\n")
}

type Zip = zip::ZipWriter<std::io::BufWriter<std::fs::File>>;

fn zip_err(e: zip::result::ZipError) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

fn entry(z: &mut Zip, name: &str, bytes: Vec<u8>) -> std::io::Result<()> {
    z.start_file(name, zip::write::SimpleFileOptions::default())
        .map_err(zip_err)?;
    z.write_all(&bytes)
}

/// Writes a ZIP through a temporary file renamed into place, so a crash never leaves half a
/// result behind; the file is private (`0600`) from its creation.
fn write_zip(
    path: &Path,
    fill: impl FnOnce(&mut Zip) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let tmp = path.with_extension("zip.part");
    let mut z = zip::ZipWriter::new(std::io::BufWriter::new(rightful_store::private::create(
        &tmp,
    )?));
    fill(&mut z)?;
    let mut inner = z.finish().map_err(zip_err)?;
    inner.flush()?;
    std::fs::rename(&tmp, path)
}

/// The per-store files of exported rows (`<dir>/rows/<store>.jsonl`), in store order.
fn row_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("rows"))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    files
}

/// Streams each store's exported rows into `data/<store>.json`, one row at a time.
fn copy_rows(z: &mut Zip, dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for f in row_files(dir) {
        let store = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        z.start_file(
            format!("data/{store}.json"),
            zip::write::SimpleFileOptions::default(),
        )
        .map_err(zip_err)?;
        z.write_all(b"[\n")?;
        let mut first = true;
        for line in std::io::BufReader::new(std::fs::File::open(&f)?).lines() {
            let line = line?;
            if serde_json::from_str::<serde_json::Value>(&line).is_err() {
                continue;
            }
            if !first {
                z.write_all(b",\n")?;
            }
            first = false;
            z.write_all(line.as_bytes())?;
            total += 1;
        }
        z.write_all(b"\n]\n")?;
    }
    Ok(total)
}

/// B1–B4: the access report and the copy of the data.
fn access_zip(
    engine: &Engine,
    id: &str,
    dir: &Path,
    facts: &SubjectFacts,
    searched: &BTreeMap<String, serde_json::Value>,
    not_searched: &[serde_json::Value],
) -> std::io::Result<Option<PathBuf>> {
    let policy = &engine.policy;
    let c = &policy.controller;
    let purposes: Vec<serde_json::Value> = policy
        .purposes
        .iter()
        .filter(|p| facts.purposes.contains_key(&p.id))
        .map(|p| {
            serde_json::json!({
                "id": p.id,
                "a_purpose": {"name": p.name, "description": p.description, "legal_bases": p.bases.iter().map(|b| serde_json::json!({"basis": b.basis.label(), "article": b.basis.article(), "case": b.case})).collect::<Vec<_>>()},
                "b_categories": p.categories.iter().map(|cat| serde_json::json!({"id": cat.id, "name": cat.name, "fields": cat.fields.iter().map(|f| f.name.clone()).collect::<Vec<_>>()})).collect::<Vec<_>>(),
                "c_recipients": policy.recipients_of(p).map(|r| serde_json::json!({"name": r.name, "role": r.role, "country": r.country, "description": r.description})).collect::<Vec<_>>(),
                "d_retention": p.categories.iter().map(|cat| serde_json::json!({"category": cat.id, "period": cat.retention.describe()})).collect::<Vec<_>>(),
                "e_rights": rightful_core::rights::rights_matrix(p).into_iter().map(|(r, a)| serde_json::json!({"right": r.article(), "applies": a})).collect::<Vec<_>>(),
                "f_complaint": {"authority": c.authority.name, "address": c.authority.address.to_string(), "complaint_url": c.authority.complaint_url},
                "g_source": p.sources.iter().map(|s| serde_json::json!({"kind": s.kind, "description": s.description})).collect::<Vec<_>>(),
                "h_automated_decisions": p.automated_decisions.clone().unwrap_or_else(|| "No decision based solely on automated processing, including profiling, is made (Art. 22).".into()),
                "transfers": p.transfers.iter().map(|t| serde_json::json!({"recipient": t.recipient, "country": t.country, "safeguard": t.safeguard, "documentation": t.documentation})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let found = !purposes.is_empty();
    // A store that could not be searched with what the subject gave forbids "we hold nothing"
    // (Art. 11(2), 12(6)): it is named, with the identifier that would let it be searched.
    let confirmation = match (found, not_searched.is_empty()) {
        (true, _) => "We process personal data about you; it is described below and copied in data/.".to_owned(),
        (false, true) => "We hold no personal data about you in any of our systems (Art. 15(1): negative confirmation).".to_owned(),
        (false, false) => format!(
            "We found no personal data about you in the systems we could search with what you gave us. {}",
            not_searched_lines(not_searched, false).join(" ")
        ),
    };
    let searched_names: Vec<&String> = searched
        .keys()
        .filter(|s| {
            !not_searched
                .iter()
                .any(|n| n["store"].as_str() == Some(s.as_str()))
        })
        .collect();
    let report = serde_json::json!({
        "controller": {"name": c.party.name, "dpo": c.dpo.email},
        "request_id": id,
        "generated_at": Utc::now(),
        "confirmation": confirmation,
        "data_found": found,
        "stores_searched": searched.iter().filter(|(s, _)| searched_names.contains(s)).map(|(s, r)| serde_json::json!({"store": s, "searched_at": r["searched_at"], "tables": r["hits"]})).collect::<Vec<_>>(),
        "stores_not_searched": not_searched,
        "purposes": purposes,
    });
    let glossary = serde_json::json!({
        "purposes": policy.purposes.iter().map(|p| (p.id.to_string(), p.name.clone())).collect::<BTreeMap<_, _>>(),
        "categories": policy.purposes.iter().flat_map(|p| &p.categories).map(|c| (c.id.to_string(), c.name.clone())).collect::<BTreeMap<_, _>>(),
        "fields": policy.purposes.iter().flat_map(|p| &p.categories).flat_map(|c| &c.fields).map(|f| (f.id.to_string(), f.name.clone())).collect::<BTreeMap<_, _>>(),
        "files": {"report.json": "this report (Art. 15(1)-(2)); stores_not_searched names the systems that could not be searched with the identifiers you gave, and which identifier would let them be", "report.html": "the same, readable", "data/<store>.json": "every record found in that system: table, purpose, and each value with its field", "glossary.json": "what the codes mean"},
    });
    let path = result_path(engine, id);
    write_zip(&path, |z| {
        entry(
            z,
            "report.json",
            serde_json::to_vec_pretty(&report).unwrap_or_default(),
        )?;
        entry(z, "report.html", html(&report).into_bytes())?;
        entry(
            z,
            "glossary.json",
            serde_json::to_vec_pretty(&glossary).unwrap_or_default(),
        )?;
        copy_rows(z, dir).map(|_| ())
    })?;
    Ok(Some(path))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A readable summary of the access report.
fn html(report: &serde_json::Value) -> String {
    let t = |v: &serde_json::Value| esc(v.as_str().unwrap_or(""));
    let mut out = format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Your personal data</title><h1>Your personal data at {}</h1><p>{}</p>",
        t(&report["controller"]["name"]),
        t(&report["confirmation"])
    );
    for p in report["purposes"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "<h2>{}</h2><p>{}</p><ul>",
            t(&p["a_purpose"]["name"]),
            t(&p["a_purpose"]["description"])
        ));
        for r in p["c_recipients"].as_array().into_iter().flatten() {
            out.push_str(&format!("<li>Recipient: {}</li>", t(&r["name"])));
        }
        for r in p["d_retention"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "<li>Kept: {} — {}</li>",
                t(&r["category"]),
                t(&r["period"])
            ));
        }
        out.push_str(&format!("<li>{}</li></ul>", t(&p["h_automated_decisions"])));
    }
    let not_searched = report["stores_not_searched"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !not_searched.is_empty() {
        out.push_str("<h2>Systems we could not search</h2><ul>");
        for line in not_searched_lines(&not_searched, false) {
            out.push_str(&format!("<li>{}</li>", esc(&line)));
        }
        out.push_str("</ul>");
    }
    out.push_str(&format!(
        "<p>You may complain to the {} ({}).</p></html>",
        t(&report["purposes"][0]["f_complaint"]["authority"]),
        t(&report["purposes"][0]["f_complaint"]["complaint_url"])
    ));
    out
}

/// C6: per eligible purpose, the data the subject provided as JSON and CSV.
fn portability_zip(
    engine: &Engine,
    id: &str,
    dir: &Path,
    plan: &Plan,
) -> std::io::Result<Option<PathBuf>> {
    let exported: BTreeMap<String, BTreeSet<String>> = plan
        .items
        .iter()
        .filter(|i| matches!(i.action, Action::Export))
        .fold(BTreeMap::new(), |mut m, i| {
            m.entry(i.purpose.to_string())
                .or_default()
                .insert(i.category.to_string());
            m
        });
    let not_eligible: Vec<serde_json::Value> = plan
        .not_applicable()
        .map(|i| serde_json::json!({"purpose": i.purpose, "category": i.category, "reason": i.action}))
        .collect();
    let path = result_path(engine, id);
    let mut files = Vec::new();
    let rows_files = row_files(dir);
    write_zip(&path, |z| {
        for (purpose, cats) in &exported {
            // JSON: the rows of this purpose, only the categories provided by the subject.
            let filter = |row: &serde_json::Value| -> Option<serde_json::Value> {
                if row["purpose"].as_str() != Some(purpose) {
                    return None;
                }
                let values: serde_json::Map<String, serde_json::Value> = row["values"]
                    .as_array()?
                    .iter()
                    .filter(|v| v["category"].as_str().is_some_and(|c| cats.contains(c)))
                    .filter_map(|v| Some((v["field"].as_str()?.to_owned(), v["value"].clone())))
                    .collect();
                (!values.is_empty())
                    .then(|| serde_json::json!({"table": row["table"], "values": values}))
            };
            let fields: Vec<String> = engine
                .policy
                .purpose(purpose)
                .into_iter()
                .flat_map(|p| &p.categories)
                .filter(|c| cats.contains(c.id.as_ref()))
                .flat_map(|c| c.fields.iter().map(|f| f.id.to_string()))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let each = |f: &mut dyn FnMut(serde_json::Value) -> std::io::Result<()>| -> std::io::Result<()> {
                for rf in &rows_files {
                    for line in std::io::BufReader::new(std::fs::File::open(rf)?).lines() {
                        if let Some(v) = serde_json::from_str::<serde_json::Value>(&line?).ok().and_then(|r| filter(&r)) {
                            f(v)?;
                        }
                    }
                }
                Ok(())
            };
            z.start_file(
                format!("{purpose}.json"),
                zip::write::SimpleFileOptions::default(),
            )
            .map_err(zip_err)?;
            z.write_all(b"[\n")?;
            let mut first = true;
            each(&mut |v| {
                if !first {
                    z.write_all(b",\n")?;
                }
                first = false;
                z.write_all(v.to_string().as_bytes())
            })?;
            z.write_all(b"\n]\n")?;
            z.start_file(
                format!("{purpose}.csv"),
                zip::write::SimpleFileOptions::default(),
            )
            .map_err(zip_err)?;
            let mut header = vec!["table".to_owned()];
            header.extend(fields.iter().cloned());
            let mut line = csv::Writer::from_writer(Vec::new());
            line.write_record(&header).map_err(std::io::Error::other)?;
            z.write_all(
                &line
                    .into_inner()
                    .map_err(|e| std::io::Error::other(e.to_string()))?,
            )?;
            each(&mut |v| {
                let mut rec = vec![v["table"].as_str().unwrap_or("").to_owned()];
                rec.extend(fields.iter().map(|f| match &v["values"][f] {
                    serde_json::Value::Null => String::new(),
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                }));
                let mut w = csv::Writer::from_writer(Vec::new());
                w.write_record(&rec).map_err(std::io::Error::other)?;
                z.write_all(
                    &w.into_inner()
                        .map_err(|e| std::io::Error::other(e.to_string()))?,
                )
            })?;
            files.push(format!("{purpose}.json"));
            files.push(format!("{purpose}.csv"));
        }
        let manifest = serde_json::json!({
            "request_id": id,
            "generated_at": Utc::now(),
            "format": "one JSON file (an array of records: table and values by field) and one CSV file (a header of field ids) per purpose",
            "files": files,
            "purposes": exported.keys().collect::<Vec<_>>(),
        });
        entry(
            z,
            "manifest.json",
            serde_json::to_vec_pretty(&manifest).unwrap_or_default(),
        )?;
        entry(
            z,
            "not_eligible.json",
            serde_json::to_vec_pretty(&not_eligible).unwrap_or_default(),
        )
    })?;
    Ok(Some(path))
}
