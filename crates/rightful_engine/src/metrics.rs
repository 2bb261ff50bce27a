//! Prometheus metrics (issue 13 item 7), written by hand in the text exposition format 0.0.4:
//! gauges read from the engine's database at scrape time (requests by status and type, overdue
//! requests, jobs by status), and counters this process keeps (step latencies, retention sweep
//! rows, DRP callback failures, mail failures). Labels carry closed sets of names only (statuses,
//! types, steps): never an address, an id or an error text.
//!
//! The gauges are the same on every server sharing the engine database; the counters are per
//! process, from its start (sum them across servers).

use crate::{Engine, EngineError};
use rightful_core::intake::RequestType;
use rightful_core::lifecycle::Status;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The content type of the exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds of the step latency buckets, in seconds.
pub const STEP_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The job statuses.
pub const JOB_STATUSES: [&str; 4] = ["pending", "running", "done", "failed"];

/// The mail a failure is counted under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    /// A notice to a data subject (codes, acknowledgements, results).
    Notice,
    /// A deadline reminder to the DPO.
    Reminder,
}

impl MailKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Notice => "notice",
            Self::Reminder => "reminder",
        }
    }
}

/// The shortest `[metrics] token` accepted.
pub const MIN_TOKEN_LEN: usize = 32;

/// Refuses a `[metrics] token` that is set but shorter than [`MIN_TOKEN_LEN`] (never quoting it).
pub fn check_token(token: &str) -> Result<(), crate::settings::SettingsError> {
    if token.is_empty() || token.chars().count() >= MIN_TOKEN_LEN {
        return Ok(());
    }
    Err(crate::settings::SettingsError::Invalid {
        origin: "[metrics] token (RIGHTFUL_METRICS__TOKEN)".into(),
        message: format!(
            "the scraper's token has {} characters: use at least {MIN_TOKEN_LEN} (e.g. `openssl rand -hex 32`), or leave it empty",
            token.chars().count()
        ),
    })
}

/// Whether `bearer` is the configured scraper token (compared in constant time); never when
/// none is configured.
pub fn token_matches(configured: &str, bearer: &str) -> bool {
    if configured.is_empty() || configured.len() != bearer.len() {
        return false;
    }
    configured
        .bytes()
        .zip(bearer.bytes())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

/// One histogram: a count per bucket (not cumulative), the sum and the count.
#[derive(Debug, Default, Clone)]
struct Histogram {
    buckets: [u64; STEP_BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// The counters this process keeps.
#[derive(Debug, Default)]
pub struct Metrics {
    steps: Mutex<BTreeMap<&'static str, Histogram>>,
    sweep_deleted: AtomicU64,
    sweep_archived: AtomicU64,
    drp_callback_failures: AtomicU64,
    mail_notice_failures: AtomicU64,
    mail_reminder_failures: AtomicU64,
}

impl Metrics {
    /// Records how long one run of `step` took (one of [`crate::execution::STEPS`]; others are
    /// ignored).
    pub fn observe_step(&self, step: &str, seconds: f64) {
        let Some(step) = crate::execution::STEPS.iter().find(|s| **s == step) else {
            return;
        };
        if let Ok(mut steps) = self.steps.lock() {
            let h = steps.entry(step).or_default();
            if let Some(i) = STEP_BUCKETS.iter().position(|b| seconds <= *b) {
                h.buckets[i] += 1;
            }
            h.sum += seconds;
            h.count += 1;
        }
    }

    /// Counts rows a retention sweep deleted (child rows included) and archived.
    pub fn swept(&self, deleted: u64, archived: u64) {
        self.sweep_deleted.fetch_add(deleted, Ordering::Relaxed);
        self.sweep_archived.fetch_add(archived, Ordering::Relaxed);
    }

    /// Counts one failed delivery to a DRP agent's status callback.
    pub fn drp_callback_failed(&self) {
        self.drp_callback_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one message the mailer could not build or send.
    pub fn mail_failed(&self, kind: MailKind) {
        match kind {
            MailKind::Notice => &self.mail_notice_failures,
            MailKind::Reminder => &self.mail_reminder_failures,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    /// Writes the counters.
    fn write_counters(&self, out: &mut String) {
        head(
            out,
            "rightful_step_duration_seconds",
            "histogram",
            "How long each execution step took in this process",
        );
        let steps = self.steps.lock().map(|s| s.clone()).unwrap_or_default();
        for step in crate::execution::STEPS {
            let h = steps.get(step).cloned().unwrap_or_default();
            let mut cumulative = 0;
            for (bound, n) in STEP_BUCKETS.iter().zip(h.buckets) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "rightful_step_duration_seconds_bucket{{step=\"{step}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "rightful_step_duration_seconds_bucket{{step=\"{step}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "rightful_step_duration_seconds_sum{{step=\"{step}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "rightful_step_duration_seconds_count{{step=\"{step}\"}} {}",
                h.count
            );
        }
        head(
            out,
            "rightful_sweep_rows_total",
            "counter",
            "Rows retention sweeps deleted (child rows included) or archived in this process",
        );
        for (outcome, n) in [
            ("deleted", &self.sweep_deleted),
            ("archived", &self.sweep_archived),
        ] {
            let _ = writeln!(
                out,
                "rightful_sweep_rows_total{{outcome=\"{outcome}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
        head(
            out,
            "rightful_drp_callback_failures_total",
            "counter",
            "Failed deliveries to DRP agents' status callbacks in this process",
        );
        let _ = writeln!(
            out,
            "rightful_drp_callback_failures_total {}",
            self.drp_callback_failures.load(Ordering::Relaxed)
        );
        head(
            out,
            "rightful_mail_failures_total",
            "counter",
            "Messages the mailer could not build or send in this process",
        );
        for (kind, n) in [
            (MailKind::Notice, &self.mail_notice_failures),
            (MailKind::Reminder, &self.mail_reminder_failures),
        ] {
            let _ = writeln!(
                out,
                "rightful_mail_failures_total{{kind=\"{}\"}} {}",
                kind.as_str(),
                n.load(Ordering::Relaxed)
            );
        }
    }
}

/// `# HELP` and `# TYPE` lines.
fn head(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// What the database says at scrape time.
#[derive(Debug, Default)]
struct Gauges {
    requests: Vec<(String, String, i64)>,
    overdue: i64,
    jobs: Vec<(String, i64)>,
}

/// The whole exposition: the database's gauges, then this process's counters.
pub async fn render(engine: &Engine) -> Result<String, EngineError> {
    let today = chrono::Utc::now().date_naive();
    let g = engine
        .store
        .run(move |c| {
            Ok(Gauges {
                requests: rightful_store::models::request::count_by_status_and_kind(c)?,
                overdue: rightful_store::models::request::count_overdue(c, today)?,
                jobs: rightful_store::models::job::count_by_status(c)?,
            })
        })
        .await?;
    let mut out = String::new();
    head(
        &mut out,
        "rightful_build_info",
        "gauge",
        "Rightful's version (always 1)",
    );
    let _ = writeln!(
        out,
        "rightful_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    head(
        &mut out,
        "rightful_requests",
        "gauge",
        "Requests in the engine database, by status and type",
    );
    for status in Status::ALL {
        for kind in RequestType::ALL {
            let n: i64 = g
                .requests
                .iter()
                .filter(|(s, k, _)| s == status.as_str() && k == kind.as_str())
                .map(|(_, _, n)| n)
                .sum();
            let _ = writeln!(
                out,
                "rightful_requests{{status=\"{}\",type=\"{}\"}} {n}",
                status.as_str(),
                kind.as_str()
            );
        }
    }
    head(
        &mut out,
        "rightful_requests_overdue",
        "gauge",
        "Requests past their due date and not closed",
    );
    let _ = writeln!(out, "rightful_requests_overdue {}", g.overdue);
    head(
        &mut out,
        "rightful_jobs",
        "gauge",
        "Execution jobs in the engine database, by status",
    );
    for status in JOB_STATUSES {
        let n: i64 = g
            .jobs
            .iter()
            .filter(|(s, _)| s == status)
            .map(|(_, n)| n)
            .sum();
        let _ = writeln!(out, "rightful_jobs{{status=\"{status}\"}} {n}");
    }
    engine.metrics.write_counters(&mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_latencies_fall_in_cumulative_buckets() {
        let m = Metrics::default();
        m.observe_step("apply", 0.003);
        m.observe_step("apply", 0.2);
        m.observe_step("apply", 100.0);
        m.observe_step("no-such-step", 0.2);
        let mut out = String::new();
        m.write_counters(&mut out);
        assert!(
            out.contains("rightful_step_duration_seconds_bucket{step=\"apply\",le=\"0.005\"} 1\n")
        );
        assert!(
            out.contains("rightful_step_duration_seconds_bucket{step=\"apply\",le=\"0.25\"} 2\n")
        );
        assert!(
            out.contains("rightful_step_duration_seconds_bucket{step=\"apply\",le=\"30\"} 2\n")
        );
        assert!(
            out.contains("rightful_step_duration_seconds_bucket{step=\"apply\",le=\"+Inf\"} 3\n")
        );
        assert!(out.contains("rightful_step_duration_seconds_count{step=\"discover\"} 0\n"));
        assert!(!out.contains("no-such-step"));
    }
}
