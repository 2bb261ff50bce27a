//! Issue 14: mail sent after commit, at most once.
//!
//! The completion notice is a `mail_outbox` row written in the transaction that completes the
//! request, keyed by (request, template): a `finalize` run again finds the key and writes nothing.
//! After the commit, [`deliver_due`] claims each due row (so that two servers never send one at
//! once), sends it with a deterministic Message-ID (`<rightful.<request>.<template>@<domain>>`)
//! and marks it sent, recording `notice.sent` in the audit trail in the same transaction. A crash
//! between the send and the mark can at worst send it again with the same Message-ID, which a
//! receiver de-duplicates. A failed send is retried with backoff (`execution.retry_secs`, doubling,
//! at most an hour apart) up to `execution.max_attempts`, then given up on (`notice.failed` in the
//! audit trail, the mail-failure counter in /metrics). Once sent or given up on, the row's address,
//! subject and body are emptied: only the key, the Message-ID and the times stay.

use crate::{Engine, EngineError};
use chrono::Utc;
use diesel::Connection;
use rightful_core::audit::EntryContent;
use rightful_store::models::outbox;

/// The Message-ID of notice `template` about request `request_id`: the same every time it is sent.
pub fn message_id(engine: &Engine, request_id: &str, template: &str) -> String {
    format!(
        "<rightful.{request_id}.{template}@{}>",
        engine.mailer.domain()
    )
}

/// How a claimed mail's attempt ended.
enum Sent {
    Yes,
    /// Cannot succeed by retrying (the message cannot be built).
    Never(&'static str),
    /// May succeed later.
    Later(&'static str),
}

/// Sends the due mails of the outbox (of request `request_id` only, when given); returns how many
/// were sent. Each is claimed first, so two senders never send one at once.
pub async fn deliver_due(engine: &Engine, request_id: Option<&str>) -> Result<usize, EngineError> {
    let now = Utc::now().naive_utc();
    let lease = now + chrono::Duration::seconds(engine.settings.execution.lease_secs.max(30));
    let only = request_id.map(str::to_owned);
    let ids = engine
        .store
        .run(move |c| outbox::due(c, only.as_deref(), now, 50))
        .await?;
    let mut sent = 0;
    for id in ids {
        let id2 = id.clone();
        let Some(mail) = engine
            .store
            .run(move |c| outbox::claim(c, &id2, now, lease))
            .await?
        else {
            continue; // another sender has it
        };
        let (mailer, m) = (engine.mailer.clone(), mail.clone());
        let outcome = tokio::task::spawn_blocking(move || {
            mailer.send_with_id(&m.recipient, &m.subject, &m.body, Some(&m.message_id))
        })
        .await;
        let outcome = match outcome {
            Ok(Ok(())) => Sent::Yes,
            Ok(Err(crate::mail::MailError::Build(_))) => {
                Sent::Never("the message could not be built")
            }
            Ok(Err(crate::mail::MailError::Send(_))) => {
                Sent::Later("the mail transport refused or failed")
            }
            Err(_) => Sent::Later("the mail task failed"),
        };
        let attempts = mail.attempts + 1;
        let s = &engine.settings.execution;
        let at = Utc::now();
        let outcome = match outcome {
            Sent::Later(why) if attempts >= s.max_attempts => Sent::Never(why),
            o => o,
        };
        let entry = |action: &str, reason: &str| EntryContent {
            at,
            actor: "system".into(),
            action: action.into(),
            target: mail.request_id.clone(),
            reason: reason.into(),
            details: serde_json::json!({"notice": mail.template, "language": mail.language, "channel": "email", "attempts": attempts}),
        };
        match outcome {
            Sent::Yes => {
                let e = entry("notice.sent", "");
                let id2 = id.clone();
                engine
                    .store
                    .run(move |c| {
                        c.transaction(|c| {
                            outbox::finish(c, &id2, "sent", attempts, None, at.naive_utc())?;
                            rightful_store::models::audit::append(c, vec![e])
                        })
                    })
                    .await?;
                sent += 1;
            }
            Sent::Never(why) => {
                engine.metrics.mail_failed(crate::metrics::MailKind::Notice);
                tracing::error!(request.id = %mail.request_id, notice = %mail.template, attempts, error = why, "notice not sent: given up");
                let e = entry("notice.failed", why);
                let id2 = id.clone();
                engine
                    .store
                    .run(move |c| {
                        c.transaction(|c| {
                            outbox::finish(c, &id2, "failed", attempts, Some(why), at.naive_utc())?;
                            rightful_store::models::audit::append(c, vec![e])
                        })
                    })
                    .await?;
            }
            Sent::Later(why) => {
                engine.metrics.mail_failed(crate::metrics::MailKind::Notice);
                let wait = (s.retry_secs << (attempts - 1).clamp(0, 10)).min(3600);
                tracing::warn!(request.id = %mail.request_id, notice = %mail.template, attempts, retry_in_secs = wait, error = why, "notice not sent: will be retried");
                let (id2, next) = (
                    id.clone(),
                    (at + chrono::Duration::seconds(wait)).naive_utc(),
                );
                engine
                    .store
                    .run(move |c| outbox::retry(c, &id2, attempts, why, next))
                    .await?;
            }
        }
    }
    Ok(sent)
}
