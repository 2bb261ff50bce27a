//! The steps of an execution: discovery, the plan, applying it per store, notifying processors.

use super::{MAX_ROUNDS, StepEnd, notifies};
use crate::Engine;
use chrono::NaiveDateTime;
use rightful_connectors::{ConnectorError, Identities, StoreErrorClass};
use rightful_core::Policy;
use rightful_core::intake::RequestType;
use rightful_core::policy::{FieldId, PurposeId};
use rightful_core::rights::{Action, Plan, RequestKind, SubjectFacts};
use rightful_store::models::job::{self, Execution, Job};
use rightful_store::models::{directive, request};
use rightful_store::{DbConn, StoreError};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

/// What a step needs to know about its request.
pub(crate) struct Context {
    pub kind: RequestType,
    pub details: serde_json::Value,
    pub execution: Execution,
}

pub(crate) async fn context(engine: &Engine, id: &str) -> Result<Context, StepEnd> {
    let id = id.to_owned();
    let found = engine
        .store
        .run(move |c| {
            let (Some(row), Some(subject), Some(ex)) = (
                request::find(c, &id)?,
                request::subject(c, &id)?,
                job::get(c, &id)?,
            ) else {
                return Ok(None);
            };
            Ok(Some((row.kind, subject.details, ex)))
        })
        .await
        .map_err(|e| StepEnd::Retry(format!("engine store: {e}")))?;
    let (kind, details, execution) =
        found.ok_or_else(|| StepEnd::Fail("the request or its execution is gone".into()))?;
    Ok(Context {
        kind: RequestType::parse(&kind).unwrap_or(RequestType::Unclassified),
        details: serde_json::from_str(&details).unwrap_or_default(),
        execution,
    })
}

/// A connector failure, by its class (issue 12 item 7): a transient one (the store is down, a
/// lock, a deadlock, a timeout) is retried with backoff and the request pauses; a permanent one
/// (a constraint, a permission, the syntax, a map that does not fit) fails the step at once, for
/// the DPO. Either way only the error's class, code and table are kept, never the driver's text.
fn connector_end(e: &ConnectorError) -> StepEnd {
    match e.class() {
        StoreErrorClass::Transient => StepEnd::Retry(e.to_string()),
        StoreErrorClass::Permanent => StepEnd::Fail(e.to_string()),
    }
}

/// Runs blocking connector work on a blocking thread.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ConnectorError> + Send + 'static,
) -> Result<T, StepEnd> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(connector_end(&e)),
        Err(_) => Err(StepEnd::Retry("the store task stopped".into())),
    }
}

pub(crate) fn identities(ex: &Execution) -> Identities {
    serde_json::from_str(&ex.identities).unwrap_or_default()
}

/// `discover`: finds the subject in one store with every identity known so far.
pub(crate) async fn discover(engine: &Engine, j: &Job) -> StepEnd {
    let ctx = match context(engine, &j.request_id).await {
        Ok(c) => c,
        Err(end) => return end,
    };
    let ids = identities(&ctx.execution);
    let (engine2, store) = (engine.clone(), j.store.clone());
    let found = match blocking(move || engine2.connector(&store)?.discover(&ids)).await {
        Ok(f) => f,
        Err(end) => return end,
    };
    let mut facts = SubjectFacts::default();
    found.add_facts(&mut facts);
    StepEnd::Done(serde_json::json!({
        "searched_at": chrono::Utc::now(),
        "identities": found.identities,
        "hits": found.hits.iter().map(|h| serde_json::json!({"table": h.table, "purpose": h.purpose, "rows": h.rows})).collect::<Vec<_>>(),
        "facts": facts,
    }))
}

/// A request kind and the purposes it is limited to (all when `None`).
type Scoped = (RequestKind, Option<BTreeSet<PurposeId>>);

/// The core's request kind for a request, and its scope; `None` when nothing is carried out in
/// the stores (a directive recorded, an unclassified request, a death without directives to
/// erase).
fn kind_and_scope(
    c: &mut DbConn,
    kind: RequestType,
    details: &serde_json::Value,
) -> Result<Option<Scoped>, StoreError> {
    let mut scope: Option<BTreeSet<PurposeId>> = details
        .get("purposes")
        .and_then(|p| serde_json::from_value::<BTreeSet<PurposeId>>(p.clone()).ok())
        .filter(|s| !s.is_empty());
    let k = match kind {
        RequestType::Access => RequestKind::Access,
        RequestType::Portability => RequestKind::Portability,
        RequestType::Erasure => RequestKind::Erasure,
        RequestType::Restriction => RequestKind::Restriction,
        // Taking back a marketing objection changes nothing in the stores: the suppression
        // entries go when the request is finalized.
        RequestType::Objection
            if details.get("withdraw") == Some(&serde_json::Value::Bool(true)) =>
        {
            return Ok(None);
        }
        RequestType::Objection => RequestKind::Objection,
        RequestType::WithdrawConsent => RequestKind::WithdrawConsent,
        RequestType::Rectification => RequestKind::Rectification {
            fields: details
                .get("new_values")
                .and_then(|v| v.as_object())
                .map(|m| m.keys().filter_map(|k| FieldId::parse(k).ok()).collect())
                .unwrap_or_default(),
        },
        RequestType::PostMortem => {
            // D6 (ii): on a notice of death, the deceased's directives to erase are carried out
            // (what the law keeps stays, as for any erasure).
            let email = details
                .pointer("/deceased/email")
                .and_then(|e| e.as_str())
                .and_then(|e| rightful_core::intake::SubjectEmail::parse(e).ok());
            let in_force = match email {
                Some(e)
                    if details.get("action").and_then(|a| a.as_str())
                        == Some("notice_of_death") =>
                {
                    directive::in_force(c, e.as_ref())?
                }
                _ => None,
            };
            let list: Vec<serde_json::Value> = in_force
                .and_then(|v| serde_json::from_str(&v.directives).ok())
                .unwrap_or_default();
            let erase: Vec<&str> = list
                .iter()
                .filter(|d| d.get("instruction").and_then(|i| i.as_str()) == Some("erase"))
                .filter_map(|d| d.get("scope").and_then(|s| s.as_str()))
                .collect();
            if erase.is_empty() {
                return Ok(None);
            }
            scope = if erase.contains(&"all") {
                None
            } else {
                Some(
                    erase
                        .iter()
                        .filter_map(|s| PurposeId::parse(s).ok())
                        .collect(),
                )
            };
            RequestKind::Erasure
        }
        RequestType::Unclassified => return Ok(None),
    };
    Ok(Some((k, scope)))
}

fn merge_facts(into: &mut SubjectFacts, more: SubjectFacts) {
    for (p, f) in more.purposes {
        let slot = into.purposes.entry(p).or_default();
        for (e, d) in f.events {
            let cur = slot.events.entry(e).or_insert(d);
            if d > *cur {
                *cur = d;
            }
        }
        slot.contract_running |= f.contract_running;
    }
}

/// The stores to search again: those that map a kind of identity with a value they have not
/// searched by yet.
fn to_search_again<'a>(
    stores: &'a [StoreKinds],
    merged: &Identities,
    searched: &std::collections::BTreeMap<&str, Identities>,
) -> Vec<&'a str> {
    stores
        .iter()
        .filter(|(name, kinds)| {
            let done = searched.get(name.as_str());
            kinds.iter().any(|k| {
                merged.get(k).is_some_and(|values| {
                    values
                        .iter()
                        .any(|v| !done.and_then(|d| d.get(k)).is_some_and(|d| d.contains(v)))
                })
            })
        })
        .map(|(name, _)| name.as_str())
        .collect()
}

/// A store's name and the identity kinds its map searches by.
pub(crate) type StoreKinds = (String, BTreeSet<String>);

/// Decides the next jobs of a request once one has finished, inside the transaction holding the
/// execution row's lock.
pub(crate) fn advance(
    c: &mut DbConn,
    policy: &Policy,
    stores: &[StoreKinds],
    ex: &Execution,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    let id = ex.request_id.as_str();
    let jobs = job::for_request(c, id)?;
    if jobs.iter().any(|j| j.status == "failed") {
        return Ok(());
    }
    let open = |step: &str| jobs.iter().any(|j| j.step == step && j.status != "done");
    let exists = |step: &str| jobs.iter().any(|j| j.step == step);
    let result = |j: &Job| -> serde_json::Value {
        j.result
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or_default()
    };
    if jobs
        .iter()
        .any(|j| j.step == "discover" && j.round == ex.round && j.status != "done")
    {
        return Ok(());
    }
    // Each store's latest search: a store not searched again in a later round keeps its answer.
    let mut latest: std::collections::BTreeMap<&str, &Job> = std::collections::BTreeMap::new();
    for j in jobs
        .iter()
        .filter(|j| j.step == "discover" && j.status == "done")
    {
        if latest
            .get(j.store.as_str())
            .is_none_or(|l| j.round > l.round)
        {
            latest.insert(j.store.as_str(), j);
        }
    }
    if ex.plan.is_none() {
        // Identities found in one store are searched for in the others (enrichment).
        let mut merged: Identities = serde_json::from_str(&ex.identities).unwrap_or_default();
        let before = merged.clone();
        let mut facts = SubjectFacts::default();
        let mut with_hits = Vec::new();
        let mut searched: std::collections::BTreeMap<&str, Identities> =
            std::collections::BTreeMap::new();
        for j in latest.values() {
            let r = result(j);
            if let Ok(ids) = serde_json::from_value::<Identities>(r["identities"].clone()) {
                for (k, v) in &ids {
                    merged
                        .entry(k.clone())
                        .or_default()
                        .extend(v.iter().cloned());
                }
                searched.insert(j.store.as_str(), ids);
            }
            if let Ok(f) = serde_json::from_value::<SubjectFacts>(r["facts"].clone()) {
                merge_facts(&mut facts, f);
            }
            if r["hits"].as_array().is_some_and(|h| !h.is_empty()) {
                with_hits.push(j.store.clone());
            }
        }
        // Searched again: only the stores that hold a kind of identity with values they have
        // not searched by yet (a customer id found in the shop is searched in no other store
        // unless one maps customer ids).
        let again = to_search_again(stores, &merged, &searched);
        if merged != before && !again.is_empty() && ex.round < MAX_ROUNDS {
            let round = ex.round + 1;
            job::set_round(
                c,
                id,
                round,
                &serde_json::to_string(&merged).unwrap_or_default(),
                at,
            )?;
            let next: Vec<Job> = again
                .iter()
                .map(|s| Job::new(id, "discover", s, round, at))
                .collect();
            job::enqueue(c, &next)?;
            return Ok(());
        }
        if merged != before {
            // Every identity found is recorded for the later steps (the final search after an
            // erasure, the suppression entries), even when no store needs a new round.
            job::set_round(
                c,
                id,
                ex.round,
                &serde_json::to_string(&merged).unwrap_or_default(),
                at,
            )?;
        }
        let Some(row) = request::find(c, id)? else {
            return Ok(());
        };
        let details: serde_json::Value = request::subject(c, id)?
            .and_then(|s| serde_json::from_str(&s.details).ok())
            .unwrap_or_default();
        let kind = RequestType::parse(&row.kind).unwrap_or(RequestType::Unclassified);
        let plan = match kind_and_scope(c, kind, &details)? {
            Some((k, scope)) => rightful_core::rights::plan(policy, &k, &facts, scope.as_ref()),
            None => Plan {
                items: Vec::new(),
                suppression: Vec::new(),
            },
        };
        let mut plan = plan;
        plan.expire_kept(at.date());
        let record = serde_json::json!({"plan": plan, "facts": facts});
        job::set_plan(c, id, &record.to_string(), at)?;
        let next: Vec<Job> = if plan.items.is_empty() {
            vec![Job::new(id, "finalize", "-", 0, at)]
        } else {
            with_hits
                .iter()
                .map(|s| Job::new(id, "apply", s, 0, at))
                .collect()
        };
        job::enqueue(c, &next)?;
        return Ok(());
    }
    if !exists("apply") && !exists("finalize") {
        job::enqueue(c, &[Job::new(id, "finalize", "-", 0, at)])?;
        return Ok(());
    }
    if open("apply") {
        return Ok(());
    }
    let kind = request::find(c, id)?
        .and_then(|r| RequestType::parse(&r.kind))
        .unwrap_or(RequestType::Unclassified);
    if exists("apply") && notifies(kind) && !exists("notify") {
        job::enqueue(c, &[Job::new(id, "notify", "-", 0, at)])?;
        return Ok(());
    }
    if open("notify") {
        return Ok(());
    }
    if !exists("finalize") {
        job::enqueue(c, &[Job::new(id, "finalize", "-", 0, at)])?;
    }
    Ok(())
}

/// The plan recorded for the execution.
pub(crate) fn plan_of(ex: &Execution) -> Plan {
    ex.plan
        .as_deref()
        .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
        .and_then(|v| serde_json::from_value(v["plan"].clone()).ok())
        .unwrap_or(Plan {
            items: Vec::new(),
            suppression: Vec::new(),
        })
}

/// The directory of every request's working files and result (`<data_dir>/results`).
pub(crate) fn results_dir(engine: &Engine) -> std::path::PathBuf {
    engine.settings.storage.data_dir.join("results")
}

/// The directory of a request's working files and result.
pub(crate) fn work_dir(engine: &Engine, id: &str) -> std::path::PathBuf {
    results_dir(engine).join(id)
}

/// The file of store `store`'s exported rows in work directory `dir`.
pub(crate) fn rows_path(dir: &std::path::Path, store: &str) -> std::path::PathBuf {
    dir.join("rows").join(format!("{store}.jsonl"))
}

/// Exports the rows `found` in store `store` to `<dir>/rows/<store>.jsonl`, one JSON line per
/// row (streamed, bounded memory); returns how many. Personal data: a 0600 file in 0700
/// directories, written under another name and renamed, so that a file present is complete;
/// deleted once the result is stored.
pub(crate) fn write_rows(
    connector: &rightful_connectors::Connector,
    found: &rightful_connectors::Found,
    store: &str,
    dir: &std::path::Path,
) -> Result<u64, ConnectorError> {
    let io = |e: std::io::Error| ConnectorError::Invalid {
        store: store.to_owned(),
        message: format!("cannot write the export: {e}"),
    };
    rightful_store::private::dir(&dir.join("rows")).map_err(io)?;
    let path = rows_path(dir, store);
    let part = path.with_extension("jsonl.part");
    let mut file = std::io::BufWriter::new(rightful_store::private::create(&part).map_err(io)?);
    let n = connector.export(found, &mut |row| {
        let line = serde_json::json!({
            "store": row.store, "table": row.table, "purpose": row.purpose,
            "values": row.values.iter().map(|(col, cat, field, v)| serde_json::json!({"column": col, "category": cat, "field": field, "value": v})).collect::<Vec<_>>(),
        });
        writeln!(file, "{line}").map_err(io)
    })?;
    file.flush().map_err(io)?;
    drop(file);
    std::fs::rename(&part, &path).map_err(io)?;
    Ok(n)
}

/// `apply`: carries out the plan in one store — exports for access and portability (streamed to
/// a file, bounded memory), erasure, rectification, restriction. Each store operation is one
/// transaction and changes nothing more when run again.
pub(crate) async fn apply(engine: &Engine, j: &Job) -> StepEnd {
    let ctx = match context(engine, &j.request_id).await {
        Ok(c) => c,
        Err(end) => return end,
    };
    let ids = identities(&ctx.execution);
    let plan = plan_of(&ctx.execution);
    let (engine2, store) = (engine.clone(), j.store.clone());
    let dir = work_dir(engine, &j.request_id);
    let kind = ctx.kind;
    let new_values: BTreeMap<FieldId, String> = ctx
        .details
        .get("new_values")
        .and_then(|v| v.as_object())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((FieldId::parse(k).ok()?, v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    let outcome = blocking(move || {
        let connector = engine2.connector(&store)?;
        let found = connector.discover(&ids)?;
        let mut out = serde_json::json!({"store": store});
        match kind {
            RequestType::Access | RequestType::Portability => {
                out["exported"] = write_rows(&connector, &found, &store, &dir)?.into();
            }
            RequestType::Rectification => {
                let a = connector.rectify(&found, &plan, &new_values)?;
                out["changes"] = serde_json::json!(a.changes);
            }
            _ => {
                let erased =
                    if plan.items.iter().any(|i| {
                        matches!(i.action, Action::Erase { .. } | Action::Anonymise { .. })
                    }) {
                        connector.erase(&found, &plan)?
                    } else {
                        Default::default()
                    };
                let restricted = connector.restrict(&found, &plan)?;
                let mut changes = erased.changes;
                changes.extend(restricted.changes);
                out["changes"] = serde_json::json!(changes);
                out["unrecorded_restrictions"] =
                    serde_json::json!(restricted.unrecorded_restrictions);
            }
        }
        Ok(out)
    })
    .await;
    match outcome {
        Ok(v) => StepEnd::Done(v),
        Err(end) => end,
    }
}

/// `notify`: tells every processor of the purposes concerned (Art. 19, C8); each outcome is
/// recorded with the request.
pub(crate) async fn notify(engine: &Engine, j: &Job) -> StepEnd {
    let ctx = match context(engine, &j.request_id).await {
        Ok(c) => c,
        Err(end) => return end,
    };
    let plan = plan_of(&ctx.execution);
    let event = match ctx.kind {
        RequestType::Rectification => crate::processors::Event::Rectification,
        RequestType::Restriction => crate::processors::Event::Restriction,
        _ => crate::processors::Event::Erasure,
    };
    let purposes: BTreeSet<PurposeId> = plan
        .items
        .iter()
        .filter(|i| {
            matches!(
                i.action,
                Action::Erase { .. }
                    | Action::Anonymise { .. }
                    | Action::Rectify { .. }
                    | Action::Restrict { .. }
            )
        })
        .map(|i| i.purpose.clone())
        .collect();
    let rectified: BTreeMap<String, String> = ctx
        .details
        .get("new_values")
        .and_then(|v| v.as_object())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    let notice = crate::processors::Notice {
        request_id: j.request_id.clone(),
        event,
        purposes,
        subject: identities(&ctx.execution),
        rectified,
        occasion: "execution",
    };
    let mut rows = match crate::processors::notify(
        engine,
        &engine.processors,
        &notice,
        chrono::Utc::now().date_naive(),
    )
    .await
    {
        Ok(rows) => rows,
        Err(e) => return StepEnd::Retry(e.to_string()),
    };
    // C4: erased data that had been made public (a published comment) is unpublished by the
    // erasure; other controllers (search engines' caches) are asked to forget it: a manual task.
    if matches!(notice.event, crate::processors::Event::Erasure) {
        match public_data_task(engine, &j.request_id).await {
            Ok(Some(task)) => rows.push(task),
            Ok(None) => {}
            Err(e) => return StepEnd::Retry(e.to_string()),
        }
    }
    StepEnd::Done(serde_json::json!({
        "notifications": rows.iter().map(|r| serde_json::json!({"recipient": r.recipient, "channel": r.channel, "status": r.status, "event": r.event})).collect::<Vec<_>>(),
    }))
}

/// C4: when the erasure changed a table holding published data (a column timed by the
/// `publication` event), records a manual "public-data erasure" task, due in 7 days, asking the
/// DPO to request de-indexing from search engines; `None` when nothing public was erased.
async fn public_data_task(
    engine: &Engine,
    id: &str,
) -> Result<Option<rightful_store::models::notification::Notification>, crate::EngineError> {
    let id2 = id.to_owned();
    let jobs = engine.store.run(move |c| job::for_request(c, &id2)).await?;
    let changed: BTreeSet<(String, String)> = jobs
        .iter()
        .filter(|j| j.step == "apply")
        .filter_map(|j| {
            let r: serde_json::Value = serde_json::from_str(j.result.as_deref()?).ok()?;
            Some(
                r["changes"]
                    .as_array()?
                    .iter()
                    .filter(|c| c[1] == "delete" || c[1] == "anonymise")
                    .filter_map(|c| Some((j.store.clone(), c[0].as_str()?.to_owned())))
                    .collect::<Vec<_>>(),
            )
        })
        .flatten()
        .collect();
    let public: Vec<String> = engine
        .stores
        .iter()
        .flat_map(|s| s.map.tables.iter().map(move |t| (s.map.name.clone(), t)))
        .filter(|(store, t)| {
            changed.contains(&(store.clone(), t.name.clone()))
                && t.columns
                    .iter()
                    .any(|c| c.event == Some(rightful_core::retention::StartEvent::Publication))
        })
        .map(|(store, t)| format!("{store}.{}", t.name))
        .collect();
    if public.is_empty() {
        return Ok(None);
    }
    let now = chrono::Utc::now();
    let task = rightful_store::models::notification::Notification {
        id: uuid::Uuid::new_v4().to_string(),
        request_id: id.to_owned(),
        recipient: "search_engines".into(),
        event: "public_data_erasure".into(),
        channel: "manual".into(),
        status: "manual_pending".into(),
        attempts: 0,
        last_status: None,
        last_error: Some(format!(
            "ask search engines to de-index the unpublished content of {}",
            public.join(", ")
        )),
        due_on: now.date_naive().checked_add_days(chrono::Days::new(7)),
        created_at: now.naive_utc(),
        updated_at: now.naive_utc(),
    };
    let stored = task.clone();
    engine
        .store
        .run(move |c| {
            rightful_store::models::notification::insert(c, std::slice::from_ref(&stored))?;
            rightful_store::models::audit::append(
                c,
                vec![rightful_core::audit::EntryContent {
                    at: now,
                    actor: "system".into(),
                    action: "public_data.erasure_task".into(),
                    target: stored.request_id.clone(),
                    reason: "Art. 17(2): data made public was erased".into(),
                    details: serde_json::json!({"tables": public}),
                }],
            )?;
            Ok(())
        })
        .await?;
    Ok(Some(task))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(pairs: &[(&str, &str)]) -> Identities {
        let mut out = Identities::new();
        for (k, v) in pairs {
            out.entry((*k).to_owned())
                .or_default()
                .insert((*v).to_owned());
        }
        out
    }

    #[test]
    fn only_stores_mapping_a_new_identity_are_searched_again() {
        let kinds = |ks: &[&str]| ks.iter().map(|k| (*k).to_owned()).collect::<BTreeSet<_>>();
        let stores: Vec<StoreKinds> = vec![
            ("shop".into(), kinds(&["email", "customer_id"])),
            ("cms".into(), kinds(&["email", "camera_serial_number"])),
            ("logs".into(), kinds(&["ip_address"])),
            ("crm".into(), kinds(&["customer_id"])),
        ];
        // The shop found a customer id by the address; the others found nothing new.
        let mut searched = std::collections::BTreeMap::new();
        searched.insert("shop", ids(&[("email", "a@x.test"), ("customer_id", "7")]));
        for s in ["cms", "logs", "crm"] {
            searched.insert(s, ids(&[("email", "a@x.test")]));
        }
        let merged = ids(&[("email", "a@x.test"), ("customer_id", "7")]);
        assert_eq!(
            to_search_again(&stores, &merged, &searched),
            ["crm"],
            "the shop searched by the id it found; only a store mapping customer ids looks again"
        );
        // Nothing new anywhere: no new round.
        let merged = ids(&[("email", "a@x.test")]);
        assert!(to_search_again(&stores, &merged, &searched).is_empty());
        // A serial number found by the CMS was searched there already, and nowhere else maps it.
        searched.insert(
            "cms",
            ids(&[("email", "a@x.test"), ("camera_serial_number", "S1")]),
        );
        let merged = ids(&[("email", "a@x.test"), ("camera_serial_number", "S1")]);
        assert!(to_search_again(&stores, &merged, &searched).is_empty());
        // A store that has not answered yet is searched by everything it maps.
        searched.remove("crm");
        assert_eq!(
            to_search_again(&stores, &ids(&[("customer_id", "7")]), &searched)
                .last()
                .copied(),
            Some("crm")
        );
    }
}
