//! Outside processors and recipients (Art. 19; checklist C8): each one that received a subject's
//! data is told of every rectification, erasure and restriction. A processor with an API gets an
//! HMAC-signed JSON webhook, retried with exponential backoff; one that can only be handled by
//! hand becomes a manual task with a due date. Every outcome is recorded with the request and in
//! the audit trail, without personal data.
//!
//! `config/processors/<recipient>.toml`:
//!
//! ```toml
//! recipient = "chat_provider"        # a recipient id of the policy
//! purposes = ["chat"]                # the purposes whose data it holds
//! [webhook]
//! url = "https://chat.example/rightful"
//! url_env = "RIGHTFUL_PROCESSOR_CHAT_URL"        # overrides url when set
//! secret_env = "RIGHTFUL_PROCESSOR_CHAT_SECRET"  # the HMAC key; never in a file
//! attempts = 5
//! backoff_ms = 500
//! ```
//!
//! or `[manual] due_days = 14` and `instructions = "…"`.

use crate::EngineError;
use chrono::{NaiveDate, Utc};
use diesel::Connection;
use hmac::{Hmac, Mac};
use rightful_core::Policy;
use rightful_core::audit::EntryContent;
use rightful_core::policy::{PolicyError, PolicyErrors, PurposeId, RecipientId};
use rightful_store::models::notification::Notification;
use serde::Deserialize;
use sha2::Sha256;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

/// The header carrying the signature: `sha256=<hex HMAC of "<timestamp>.<body>">`.
pub const SIGNATURE_HEADER: &str = "X-Rightful-Signature";
/// The header carrying the Unix time the signature covers.
pub const TIMESTAMP_HEADER: &str = "X-Rightful-Timestamp";
/// Issue 14: the header carrying the delivery id, one per request × recipient × event, the same
/// on every retry (also in the body as `delivery_id`): the processor de-duplicates on it.
pub const DELIVERY_HEADER: &str = "Rightful-Delivery-Id";

/// The delivery id of the notice of `event` about request `request_id` to `recipient` on
/// `occasion` ([`Notice::occasion`]): a UUID derived from the four (SHA-256), so that every retry,
/// on any server, carries the same one.
pub fn delivery_id(request_id: &str, recipient: &str, event: &str, occasion: &str) -> String {
    use sha2::Digest;
    let h = Sha256::digest(format!(
        "rightful.art19\n{request_id}\n{recipient}\n{event}\n{occasion}"
    ));
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    uuid::Builder::from_custom_bytes(b).into_uuid().to_string()
}

/// A secret that never prints.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// Wraps key bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

/// How a processor is reached.
#[derive(Debug, Clone)]
pub enum Channel {
    /// An HTTPS webhook.
    Webhook {
        /// Endpoint.
        url: String,
        /// HMAC key.
        secret: Secret,
        /// Attempts before giving up.
        attempts: u32,
        /// First backoff; doubles each retry.
        backoff: Duration,
    },
    /// A task for a person.
    Manual {
        /// Days until the task is due.
        due_days: u32,
        /// What to do.
        instructions: String,
    },
}

/// A processor or recipient to notify.
#[derive(Debug, Clone)]
pub struct Processor {
    /// Recipient id in the policy.
    pub recipient: RecipientId,
    /// The purposes whose data it holds.
    pub purposes: BTreeSet<PurposeId>,
    /// How to reach it.
    pub channel: Channel,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    recipient: String,
    purposes: Vec<String>,
    #[serde(default)]
    webhook: Option<RawWebhook>,
    #[serde(default)]
    manual: Option<RawManual>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    #[serde(default)]
    url: String,
    #[serde(default)]
    url_env: Option<String>,
    secret_env: String,
    #[serde(default = "five")]
    attempts: u32,
    #[serde(default = "half_second")]
    backoff_ms: u64,
}

const fn five() -> u32 {
    5
}
const fn half_second() -> u64 {
    500
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManual {
    due_days: u32,
    #[serde(default)]
    instructions: String,
}

/// Loads `dir/*.toml`, checked against the policy; every problem names the file and field. A
/// missing directory means no processor to notify. A webhook whose URL or secret is not
/// configured becomes a manual task (returned as a warning), so that no notification is lost.
pub fn load(dir: &Path, policy: &Policy) -> Result<(Vec<Processor>, Vec<String>), EngineError> {
    let mut warnings = Vec::new();
    let Ok(paths) = crate::toml_files(dir) else {
        return Ok((Vec::new(), warnings));
    };
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for path in paths {
        let file = path.display().to_string();
        let mut err = |field: &str, message: String| {
            errors.push(PolicyError {
                file: file.clone(),
                purpose: "-".into(),
                field: field.into(),
                message,
            })
        };
        let text = std::fs::read_to_string(&path).map_err(|source| EngineError::Io {
            path: file.clone(),
            source,
        })?;
        let raw: Raw = match toml::from_str(&text) {
            Ok(r) => r,
            Err(e) => {
                err("-", e.message().to_owned());
                continue;
            }
        };
        let Some(recipient) = RecipientId::parse(&raw.recipient)
            .ok()
            .filter(|r| policy.recipients.contains_key(r))
        else {
            err(
                "recipient",
                format!(
                    "`{}` is not a recipient declared in the policy",
                    raw.recipient
                ),
            );
            continue;
        };
        let mut purposes = BTreeSet::new();
        for p in &raw.purposes {
            match policy.purpose(p) {
                Some(purpose) if purpose.recipients.contains(&recipient) => {
                    purposes.insert(purpose.id.clone());
                }
                Some(_) => err(
                    "purposes",
                    format!("purpose `{p}` does not list `{recipient}` among its recipients"),
                ),
                None => err(
                    "purposes",
                    format!("purpose `{p}` is not declared in the policy"),
                ),
            }
        }
        let channel = match (raw.webhook, raw.manual) {
            (Some(w), None) => {
                let url = w
                    .url_env
                    .as_deref()
                    .and_then(crate::env::var)
                    .filter(|u| !u.is_empty())
                    .unwrap_or(w.url);
                let secret = crate::env::var(&w.secret_env).filter(|s| s.len() >= 16);
                match (url.is_empty(), secret) {
                    (false, Some(secret)) => Channel::Webhook {
                        url,
                        secret: Secret(secret.into_bytes()),
                        attempts: w.attempts.max(1),
                        backoff: Duration::from_millis(w.backoff_ms),
                    },
                    _ => {
                        let why = format!(
                            "{file}: the webhook needs its URL and `{}` (the shared HMAC secret, at least 16 characters); notifications become manual tasks until then",
                            w.secret_env
                        );
                        warnings.push(why.clone());
                        Channel::Manual {
                            due_days: 7,
                            instructions: why,
                        }
                    }
                }
            }
            (None, Some(m)) => Channel::Manual {
                due_days: m.due_days,
                instructions: m.instructions,
            },
            _ => {
                err("-", "give exactly one of [webhook] or [manual]".into());
                continue;
            }
        };
        out.push(Processor {
            recipient,
            purposes,
            channel,
        });
    }
    if errors.is_empty() {
        Ok((out, warnings))
    } else {
        Err(EngineError::Policy(crate::policy::LoadError::Invalid(
            PolicyErrors(errors),
        )))
    }
}

/// What happened to the subject's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Art. 17.
    Erasure,
    /// Art. 16.
    Rectification,
    /// Art. 18.
    Restriction,
}

impl Event {
    fn as_str(self) -> &'static str {
        match self {
            Self::Erasure => "erasure",
            Self::Rectification => "rectification",
            Self::Restriction => "restriction",
        }
    }
}

/// What the processors must be told.
#[derive(Debug, Clone)]
pub struct Notice {
    /// The request.
    pub request_id: String,
    /// What happened.
    pub event: Event,
    /// The purposes affected.
    pub purposes: BTreeSet<PurposeId>,
    /// How the processor finds the subject (identity kind → values): the processor already holds
    /// them under its contract.
    pub subject: BTreeMap<String, BTreeSet<String>>,
    /// New values, for a rectification.
    pub rectified: BTreeMap<String, String>,
    /// Issue 14: what the notice is part of, in the delivery key: `execution` (the `notify`
    /// step), `objection_upheld` (the erasure after an objection is upheld, a second notice for
    /// the same request), `retention` (a sweep).
    pub occasion: &'static str,
}

/// `sha256=<hex>` over `"<timestamp>.<body>"`.
pub fn sign(secret: &Secret, timestamp: i64, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&secret.0) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex = rightful_core::audit::hex(&mac.finalize().into_bytes());
    format!("sha256={hex}")
}

async fn deliver(
    client: &reqwest::Client,
    url: &str,
    secret: &Secret,
    attempts: u32,
    backoff: Duration,
    body: &[u8],
    delivery: &str,
) -> (String, i32, Option<i32>, Option<String>) {
    let mut wait = backoff;
    let mut last_status = None;
    let mut last_error = None;
    for attempt in 1..=attempts {
        let ts = Utc::now().timestamp();
        let res = client
            .post(url)
            .timeout(Duration::from_secs(10))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(TIMESTAMP_HEADER, ts.to_string())
            .header(SIGNATURE_HEADER, sign(secret, ts, body))
            .header(DELIVERY_HEADER, delivery)
            .body(body.to_vec())
            .send()
            .await;
        match res {
            Ok(r) if r.status().is_success() => {
                return (
                    "acknowledged".into(),
                    attempt as i32,
                    Some(i32::from(r.status().as_u16())),
                    None,
                );
            }
            Ok(r) => {
                let status = r.status();
                last_status = Some(i32::from(status.as_u16()));
                last_error = Some(format!("HTTP {}", status.as_u16()));
                // A refusal other than "too many" or "timeout" will not change by retrying.
                if status.is_client_error() && status.as_u16() != 408 && status.as_u16() != 429 {
                    return ("failed".into(), attempt as i32, last_status, last_error);
                }
            }
            Err(e) => {
                last_error = Some(if e.is_timeout() {
                    "timeout".into()
                } else if e.is_connect() {
                    "connection refused or unreachable".into()
                } else {
                    "request failed".into()
                });
            }
        }
        if attempt < attempts {
            tokio::time::sleep(wait).await;
            wait = wait.saturating_mul(2).min(Duration::from_secs(60));
        }
    }
    ("failed".into(), attempts as i32, last_status, last_error)
}

/// Notifies every processor holding data of the affected purposes, records each outcome with the
/// request, and writes one audit entry per processor. Returns the recorded rows.
pub async fn notify(
    engine: &crate::Engine,
    processors: &[Processor],
    notice: &Notice,
    today: NaiveDate,
) -> Result<Vec<Notification>, EngineError> {
    let rows = deliver_all(engine, processors, notice, today).await?;
    let stored = rows.clone();
    let audit = audit_entries(&rows);
    engine
        .store
        .run(move |c| {
            c.transaction(|c| {
                rightful_store::models::notification::insert(c, &stored)?;
                rightful_store::models::audit::append(c, audit)?;
                Ok::<_, rightful_store::StoreError>(())
            })
        })
        .await?;
    Ok(rows)
}

/// Notifies the processors of a retention sweep (no request: the outcomes go to the audit trail
/// only). Returns the outcomes.
pub async fn notify_sweep(
    engine: &crate::Engine,
    processors: &[Processor],
    notice: &Notice,
    today: NaiveDate,
) -> Result<Vec<Notification>, EngineError> {
    let rows = deliver_all(engine, processors, notice, today).await?;
    let audit = audit_entries(&rows);
    if !audit.is_empty() {
        engine
            .store
            .run(move |c| rightful_store::models::audit::append(c, audit))
            .await?;
    }
    Ok(rows)
}

fn audit_entries(rows: &[Notification]) -> Vec<EntryContent> {
    rows.iter()
        .map(|r| EntryContent {
            at: Utc::now(),
            actor: "system".into(),
            action: "processor.notified".into(),
            target: r.request_id.clone(),
            reason: format!("Art. 19: {}", r.event),
            details: serde_json::json!({"recipient": r.recipient, "channel": r.channel, "status": r.status, "attempts": r.attempts}),
        })
        .collect()
}

/// Delivers the notice to every processor of the purposes concerned (webhook with retries, or a
/// manual task). Issue 14: each webhook delivery is recorded (`webhook_deliveries`) under its
/// delivery id before the call and its outcome after; one already acknowledged is not posted
/// again. Returns the notifications to record.
async fn deliver_all(
    engine: &crate::Engine,
    processors: &[Processor],
    notice: &Notice,
    today: NaiveDate,
) -> Result<Vec<Notification>, EngineError> {
    use rightful_store::models::outbox::{self, Delivery};
    let client = crate::http_client();
    let now = Utc::now().naive_utc();
    let mut rows = Vec::new();
    for p in processors
        .iter()
        .filter(|p| !p.purposes.is_disjoint(&notice.purposes))
    {
        let id = delivery_id(
            &notice.request_id,
            p.recipient.as_ref(),
            notice.event.as_str(),
            notice.occasion,
        );
        let (channel, status, attempts, last_status, last_error, due_on) = match &p.channel {
            Channel::Webhook {
                url,
                secret,
                attempts,
                backoff,
            } => {
                let d = Delivery {
                    id: id.clone(),
                    request_id: notice.request_id.clone(),
                    recipient: p.recipient.to_string(),
                    event: notice.event.as_str().into(),
                    occasion: notice.occasion.into(),
                    status: "sending".into(),
                    attempts: 0,
                    last_status: None,
                    last_error: None,
                    created_at: now,
                    updated_at: now,
                };
                let d = engine.store.run(move |c| outbox::begin(c, &d)).await?;
                if d.status == "acknowledged" {
                    (
                        "webhook",
                        d.status,
                        d.attempts,
                        d.last_status,
                        d.last_error,
                        None,
                    )
                } else {
                    let body = serde_json::to_vec(&serde_json::json!({
                        "notification": "rightful.art19",
                        "delivery_id": d.id,
                        "request_id": notice.request_id,
                        "event": notice.event.as_str(),
                        "purposes": notice.purposes,
                        "subject": notice.subject,
                        "rectified": notice.rectified,
                    }))
                    .unwrap_or_default();
                    let (status, n, code, err) =
                        deliver(client, url, secret, *attempts, *backoff, &body, &d.id).await;
                    let (did, st, total, err2) =
                        (d.id.clone(), status.clone(), d.attempts + n, err.clone());
                    engine
                        .store
                        .run(move |c| {
                            outbox::outcome(
                                c,
                                &did,
                                &st,
                                total,
                                code,
                                err2.as_deref(),
                                Utc::now().naive_utc(),
                            )
                        })
                        .await?;
                    ("webhook", status, total, code, err, None)
                }
            }
            Channel::Manual { due_days, .. } => (
                "manual",
                "manual_pending".to_owned(),
                0,
                None,
                None,
                today.checked_add_days(chrono::Days::new(u64::from(*due_days))),
            ),
        };
        tracing::info!(request.id = %notice.request_id, recipient.id = %p.recipient, notification.status = %status, attempts, "processor notified");
        rows.push(Notification {
            id,
            request_id: notice.request_id.clone(),
            recipient: p.recipient.to_string(),
            event: notice.event.as_str().into(),
            channel: channel.into(),
            status,
            attempts,
            last_status,
            last_error,
            due_on,
            created_at: now,
            updated_at: Utc::now().naive_utc(),
        });
    }
    Ok(rows)
}
