//! Jobs the server runs on the `[schedule]` cron expressions (SPEC §7): deadline reminders, the
//! sweep of unchecked documents and of results past their download window
//! ([`crate::reminders::run`]). The same work runs on demand
//! with `rightful reminders run`.

use crate::{Engine, EngineError};
use tokio_cron_scheduler::{Job, JobScheduler};

fn err(what: &str, e: impl std::fmt::Display) -> EngineError {
    EngineError::Io {
        path: format!("schedule.{what}"),
        source: std::io::Error::other(e.to_string()),
    }
}

/// Checks every `[schedule]` cron expression without starting anything, so that `serve` refuses
/// a bad one before it says it is listening (issue 13 item 5); the error names the key and where
/// it was set (the file's line or the variable).
pub fn check(settings: &crate::settings::Settings) -> Result<(), crate::settings::SettingsError> {
    for (key, expr) in [
        ("reminders", &settings.schedule.reminders),
        ("retention", &settings.schedule.retention),
    ] {
        let expr = expr.trim();
        if expr.is_empty() {
            continue;
        }
        if let Err(e) = Job::new_async(expr, |_, _| Box::pin(async {})) {
            return Err(crate::settings::SettingsError::Invalid {
                origin: settings.whence(&["schedule", key]),
                message: format!(
                    "`schedule.{key}`: `{expr}` is not a cron expression (sec min hour day month weekday): {e}"
                ),
            });
        }
    }
    Ok(())
}

/// Starts the scheduler inside the running Tokio runtime; keep the returned handle alive for as
/// long as the jobs should run. `None` when every schedule is disabled (empty).
pub async fn start(engine: Engine) -> Result<Option<JobScheduler>, EngineError> {
    let cron = engine.settings.schedule.reminders.trim().to_owned();
    let retention = engine.settings.schedule.retention.trim().to_owned();
    if cron.is_empty() && retention.is_empty() {
        return Ok(None);
    }
    let sched = JobScheduler::new().await.map_err(|e| err("scheduler", e))?;
    if !retention.is_empty() {
        let e2 = engine.clone();
        let job = Job::new_async(retention.as_str(), move |_, _| {
            let engine = e2.clone();
            Box::pin(async move {
                let opts = crate::retention::Options::default();
                match crate::retention::run(&engine, &opts, chrono::Utc::now(), &|_, _| {}).await {
                    Ok(sweeps) => {
                        for s in sweeps {
                            match s.outcome {
                                Ok(t) => tracing::info!(store = %s.store, rows = t.iter().map(|t| t.rows).sum::<u64>(), "retention sweep"),
                                Err(e) => tracing::error!(store = %s.store, error = %e, "retention sweep failed"),
                            }
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "retention sweep failed"),
                }
            })
        })
        .map_err(|e| err("retention", format!("`{retention}` is not a cron expression (sec min hour day month weekday): {e}")))?;
        sched.add(job).await.map_err(|e| err("retention", e))?;
    }
    if cron.is_empty() {
        sched.start().await.map_err(|e| err("scheduler", e))?;
        return Ok(Some(sched));
    }
    let job = Job::new_async(cron.as_str(), move |_, _| {
        let engine = engine.clone();
        Box::pin(async move {
            if let Err(e) = crate::reminders::run(&engine, chrono::Utc::now()).await {
                tracing::error!(error = %e, "scheduled reminders failed");
            }
        })
    })
    .map_err(|e| {
        err(
            "reminders",
            format!("`{cron}` is not a cron expression (sec min hour day month weekday): {e}"),
        )
    })?;
    sched.add(job).await.map_err(|e| err("reminders", e))?;
    sched.start().await.map_err(|e| err("scheduler", e))?;
    tracing::info!(schedule.reminders = %cron, "scheduler started");
    Ok(Some(sched))
}
