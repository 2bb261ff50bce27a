//! Deadline reminders (checklist A3) and the scheduled sweeps (unchecked documents, expired
//! results), run by the server on the `[schedule]` cron expression and on demand (`rightful
//! reminders run`).
//!
//! An open request is reminded to the DPO once per configured threshold (days before its due
//! date) and once when overdue; each reminder is claimed in the engine's store first, so several
//! instances never send it twice. Reminders carry no personal data: the request's id, type,
//! status and dates.

use crate::{Engine, EngineError};
use chrono::{DateTime, Utc};
use rightful_core::audit::EntryContent;
use rightful_core::lifecycle::Status;
use rightful_store::models::{audit, reminder, request};

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunReport {
    /// Reminders sent.
    pub reminders: usize,
    /// Unchecked documents deleted (A7).
    pub documents_deleted: usize,
    /// Request results deleted because their download window ended (issue 12 item 6).
    pub results_deleted: usize,
    /// Outbox messages deleted because they are older than `mail.outbox_days`.
    pub outbox_deleted: usize,
}

/// The threshold a request has reached at `today`: the smallest configured number of days not
/// below the days left, or -1 once overdue.
fn threshold(days: &[i32], days_left: i64) -> Option<i32> {
    if days_left < 0 {
        return Some(-1);
    }
    days.iter()
        .copied()
        .filter(|d| *d >= 0 && i64::from(*d) >= days_left)
        .min()
}

/// Sends the reminders due at `now`, sweeps unchecked documents and the results whose download
/// window has ended.
pub async fn run(engine: &Engine, now: DateTime<Utc>) -> Result<RunReport, EngineError> {
    let today = now.date_naive();
    let days = engine.settings.schedule.reminder_days.clone();
    let horizon =
        today + chrono::Duration::days(i64::from(days.iter().copied().max().unwrap_or(0)));
    let open: Vec<Status> = Status::ALL.into_iter().filter(|s| !s.is_final()).collect();
    let due: Vec<(String, String, String, chrono::NaiveDate, i32)> = engine
        .store
        .run(move |c| {
            let mut out = Vec::new();
            for r in request::list(
                c,
                &request::Filter {
                    statuses: open,
                    due_before: Some(horizon),
                    ..Default::default()
                },
            )? {
                let left = (r.due_on - today).num_days();
                let Some(t) = threshold(&days, left) else {
                    continue;
                };
                if reminder::claim(c, &r.id, t, now.naive_utc())? {
                    out.push((r.id, r.kind, r.status, r.due_on, t));
                }
            }
            Ok(out)
        })
        .await?;
    let to = if engine.settings.mail.dpo_address.is_empty() {
        engine.policy.controller.dpo.email.clone()
    } else {
        engine.settings.mail.dpo_address.clone()
    };
    let lang = engine.settings.mail.language.clone();
    let mut entries = Vec::new();
    for (id, kind, status, due_on, t) in &due {
        let left = (*due_on - today).num_days();
        let days_left = match (left, lang.as_str()) {
            (l, "fr") if l < 0 => format!("en retard de {} jour(s)", -l),
            (0, "fr") => "aujourd'hui".to_owned(),
            (l, "fr") => format!("dans {l} jour(s)"),
            (l, _) if l < 0 => format!("overdue by {} day(s)", -l),
            (0, _) => "today".to_owned(),
            (l, _) => format!("in {l} day(s)"),
        };
        let values = vec![
            ("request_id", id.clone()),
            ("request_type", kind.clone()),
            ("status", status.clone()),
            ("due_on", due_on.to_string()),
            ("days_left", days_left),
        ];
        let Some((subject, body)) = engine.templates.render(&lang, "reminder", &values) else {
            continue;
        };
        let (mailer, to) = (engine.mailer.clone(), to.clone());
        let sent = tokio::task::spawn_blocking(move || mailer.send(&to, &subject, &body)).await;
        if !matches!(sent, Ok(Ok(()))) {
            engine
                .metrics
                .mail_failed(crate::metrics::MailKind::Reminder);
            tracing::error!(request.id = %id, "deadline reminder not sent");
            continue;
        }
        entries.push(EntryContent {
            at: now,
            actor: "system".into(),
            action: "request.reminder_sent".into(),
            target: id.clone(),
            reason: String::new(),
            details: serde_json::json!({"threshold_days": t, "due_on": due_on}),
        });
    }
    let reminders = entries.len();
    if !entries.is_empty() {
        engine.store.run(move |c| audit::append(c, entries)).await?;
    }
    let documents_deleted = crate::documents::sweep(engine, now).await?;
    let results_deleted = crate::execution::sweep_results(engine, now).await?;
    // The daily mail counts are kept one day; old outbox messages go.
    let yesterday = today - chrono::Duration::days(1);
    engine
        .store
        .run(move |c| rightful_store::models::quota::prune(c, yesterday))
        .await?;
    let outbox_deleted = engine.mailer.sweep_outbox(
        engine.settings.mail.outbox_days,
        std::time::SystemTime::from(now),
    );
    if reminders + documents_deleted + results_deleted + outbox_deleted > 0 {
        tracing::info!(
            reminders,
            documents_deleted,
            results_deleted,
            outbox_deleted,
            "scheduled run"
        );
    }
    Ok(RunReport {
        reminders,
        documents_deleted,
        results_deleted,
        outbox_deleted,
    })
}

#[cfg(test)]
mod tests {
    use super::threshold;

    #[test]
    fn the_threshold_reached_is_the_nearest_configured_day_or_overdue() {
        let days = [7, 2];
        assert_eq!(threshold(&days, 10), None);
        assert_eq!(threshold(&days, 7), Some(7));
        assert_eq!(threshold(&days, 5), Some(7));
        assert_eq!(threshold(&days, 2), Some(2));
        assert_eq!(threshold(&days, 0), Some(2));
        assert_eq!(threshold(&days, -1), Some(-1));
        assert_eq!(threshold(&[], 0), None);
    }
}
