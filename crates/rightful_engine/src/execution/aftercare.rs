//! What the DPO does after a restriction or an objection was carried out:
//!
//! - lifting a restriction (Art. 18(3), checklist C5): the subject is told *before* it is lifted;
//!   if the notice cannot be sent, nothing is lifted;
//! - assessing an objection to a legitimate-interest purpose (Art. 21(1), C7), whose data was
//!   restricted meanwhile (Art. 18(1)(d)): upheld, the data is erased (unless the law keeps it)
//!   and the processors are told; overridden by compelling legitimate grounds, which the DPO
//!   documents, the restriction is lifted with a notice giving them.

use crate::intake::{IntakeError, Notice};
use crate::{Engine, EngineError};
use chrono::{DateTime, Utc};
use rightful_connectors::connector::Applied;
use rightful_connectors::{Connector, ConnectorError, Found, Identities};
use rightful_core::audit::EntryContent;
use rightful_core::intake::RequestType;
use rightful_core::lifecycle::Status;
use rightful_core::rights::{Action, Plan, PlanItem, RestrictionReason, SubjectFacts};
use rightful_store::models::{audit, job, request};
use std::sync::Arc;

struct Done {
    plan: Plan,
    facts: SubjectFacts,
    identities: Identities,
    notice: Notice,
}

async fn completed(engine: &Engine, id: &str, kinds: &[RequestType]) -> Result<Done, IntakeError> {
    let id2 = id.to_owned();
    let (row, ex, notice) = engine
        .store
        .run(move |c| {
            Ok((
                request::find(c, &id2)?,
                job::get(c, &id2)?,
                Notice::of(c, &id2)?,
            ))
        })
        .await?;
    let (Some(row), Some(ex), Some(notice)) = (row, ex, notice) else {
        return Err(IntakeError::NotFound);
    };
    let kind = RequestType::parse(&row.kind).unwrap_or(RequestType::Unclassified);
    if row.status != Status::Completed.as_str() || !kinds.contains(&kind) {
        return Err(IntakeError::Invalid(format!(
            "this applies to a completed {} request",
            kinds
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(" or ")
        )));
    }
    let recorded: serde_json::Value = ex
        .plan
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or_default();
    Ok(Done {
        plan: serde_json::from_value(recorded["plan"].clone()).unwrap_or(Plan {
            items: Vec::new(),
            suppression: Vec::new(),
        }),
        facts: serde_json::from_value(recorded["facts"].clone()).unwrap_or_default(),
        identities: serde_json::from_str(&ex.identities).unwrap_or_default(),
        notice,
    })
}

/// Runs `op` on every store holding the subject, one store at a time.
async fn each_store(
    engine: &Engine,
    ids: &Identities,
    op: impl Fn(&Connector, &Found) -> Result<Applied, ConnectorError> + Clone + Send + 'static,
) -> Result<Vec<serde_json::Value>, IntakeError> {
    let mut out = Vec::new();
    for s in engine.stores.iter() {
        let (engine2, name, ids2, op) =
            (engine.clone(), s.map.name.clone(), ids.clone(), op.clone());
        let applied = tokio::task::spawn_blocking(move || {
            let c: Arc<Connector> = engine2.connector(&name)?;
            let found = c.discover(&ids2)?;
            op(&c, &found)
        })
        .await
        .map_err(|_| IntakeError::Invalid("the store task stopped; try again".into()))?
        .map_err(|e| IntakeError::Engine(EngineError::Connector(e)))?;
        if !applied.changes.is_empty() {
            out.push(serde_json::json!({"store": s.map.name, "changes": applied.changes}));
        }
    }
    Ok(out)
}

async fn record(
    engine: &Engine,
    id: &str,
    actor: &str,
    action: &str,
    reason: &str,
    details: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), IntakeError> {
    let e = EntryContent {
        at: now,
        actor: actor.to_owned(),
        action: action.to_owned(),
        target: id.to_owned(),
        reason: reason.to_owned(),
        details,
    };
    engine.store.run(move |c| audit::append(c, vec![e])).await?;
    Ok(())
}

/// C5: tells the subject, then lifts the restriction in every store.
pub async fn lift_restriction(
    engine: &Engine,
    id: &str,
    reasons: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Status, IntakeError> {
    if reasons.trim().is_empty() {
        return Err(IntakeError::Invalid(
            "say why the restriction is lifted: the subject is told (Art. 18(3))".into(),
        ));
    }
    let done = completed(
        engine,
        id,
        &[RequestType::Restriction, RequestType::Objection],
    )
    .await?;
    done.notice
        .send(
            engine,
            "restriction_lifted",
            vec![("reasons", reasons.to_owned())],
            now,
        )
        .await?;
    let changes = each_store(engine, &done.identities, Connector::lift_restriction).await?;
    record(
        engine,
        id,
        actor,
        "restriction.lifted",
        reasons,
        serde_json::json!({"changes": changes, "subject_told": true}),
        now,
    )
    .await?;
    Ok(Status::Completed)
}

/// C7: the DPO's assessment of an Art. 21(1) objection.
pub async fn assess_objection(
    engine: &Engine,
    id: &str,
    upheld: bool,
    reasons: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Status, IntakeError> {
    if reasons.trim().is_empty() {
        return Err(IntakeError::Invalid("document the assessment (`reasons`): the controller bears the burden of showing compelling grounds (Art. 21(1))".into()));
    }
    let done = completed(engine, id, &[RequestType::Objection]).await?;
    if !upheld {
        record(
            engine,
            id,
            actor,
            "objection.overridden",
            reasons,
            serde_json::json!({"ground": "compelling_legitimate_grounds"}),
            now,
        )
        .await?;
        return lift_restriction(engine, id, reasons, actor, now).await;
    }
    // Upheld: what was restricted pending the assessment is erased, unless the law keeps it.
    let present = done.facts.present_in();
    let mut items = Vec::new();
    for item in &done.plan.items {
        if !matches!(
            item.action,
            Action::Restrict {
                reason: RestrictionReason::ObjectionPending
            }
        ) {
            continue;
        }
        let Some(purpose) = engine.policy.purpose(item.purpose.as_ref()) else {
            continue;
        };
        let Some(cat) = purpose.category(item.category.as_ref()) else {
            continue;
        };
        let pf = done
            .facts
            .purposes
            .get(&item.purpose)
            .cloned()
            .unwrap_or_default();
        items.push(PlanItem {
            purpose: item.purpose.clone(),
            category: item.category.clone(),
            action: rightful_core::rights::objection_outcome(purpose, cat, &pf, &present, None),
        });
    }
    if items.is_empty() {
        return Err(IntakeError::Invalid(
            "nothing of this objection awaits an assessment".into(),
        ));
    }
    let plan = Plan {
        items,
        suppression: Vec::new(),
    };
    let erase_plan = plan.clone();
    let changes = each_store(engine, &done.identities, move |c, found| {
        c.erase(found, &erase_plan)
    })
    .await?;
    let purposes = plan.items.iter().map(|i| i.purpose.clone()).collect();
    let notice = crate::processors::Notice {
        request_id: id.to_owned(),
        event: crate::processors::Event::Erasure,
        purposes,
        subject: done.identities.clone(),
        rectified: Default::default(),
        occasion: "objection_upheld",
    };
    crate::processors::notify(engine, &engine.processors, &notice, now.date_naive()).await?;
    record(
        engine,
        id,
        actor,
        "objection.upheld",
        reasons,
        serde_json::json!({"changes": changes, "kept": plan.kept().count()}),
        now,
    )
    .await?;
    let summary = changes
        .iter()
        .flat_map(|c| c["changes"].as_array().cloned().unwrap_or_default())
        .map(|c| {
            format!(
                "- {} {} record(s) in {}",
                c[1].as_str().unwrap_or(""),
                c[2],
                c[0].as_str().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let _ = done
        .notice
        .send(
            engine,
            "completed",
            vec![
                ("summary", format!("Your objection was upheld.\n{summary}")),
                ("download", String::new()),
            ],
            now,
        )
        .await;
    Ok(Status::Completed)
}
