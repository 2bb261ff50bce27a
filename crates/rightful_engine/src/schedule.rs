//! Jobs the server runs on the `[schedule]` cron expressions (SPEC §7): deadline reminders and
//! the sweep of unchecked documents ([`crate::reminders::run`]). The same work runs on demand
//! with `rightful reminders run`.

use crate::{Engine, EngineError};
use tokio_cron_scheduler::{Job, JobScheduler};

fn err(what: &str, e: impl std::fmt::Display) -> EngineError {
    EngineError::Io {
        path: format!("schedule.{what}"),
        source: std::io::Error::other(e.to_string()),
    }
}

/// Starts the scheduler inside the running Tokio runtime; keep the returned handle alive for as
/// long as the jobs should run. `None` when every schedule is disabled (empty).
pub async fn start(engine: Engine) -> Result<Option<JobScheduler>, EngineError> {
    let cron = engine.settings.schedule.reminders.trim().to_owned();
    if cron.is_empty() {
        return Ok(None);
    }
    let sched = JobScheduler::new().await.map_err(|e| err("scheduler", e))?;
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
