//! Mail to data subjects through a real SMTP client (lettre), or — the embedded default — a file
//! outbox where each message is a `.eml` file, so that `make run` needs no mail server. Messages
//! never go to the logs.

use crate::EngineError;
use crate::settings::Settings;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, SinglePart};
use lettre::{Message, SmtpTransport, Transport};
use rightful_core::Policy;
use std::path::PathBuf;

/// Where mail goes.
pub enum Mailer {
    /// One `.eml` file per message.
    Outbox {
        /// The directory.
        dir: PathBuf,
        /// Sender.
        from: Mailbox,
    },
    /// An SMTP server.
    Smtp {
        /// The transport.
        transport: Box<SmtpTransport>,
        /// Sender.
        from: Mailbox,
    },
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Outbox { dir, .. } => f.debug_struct("Outbox").field("dir", dir).finish(),
            Self::Smtp { .. } => f.write_str("Smtp(..)"),
        }
    }
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The message could not be built (an address that does not parse).
    #[error("the message could not be built: {0}")]
    Build(String),
    /// The transport failed (no personal data in the message).
    #[error("the message could not be delivered: {0}")]
    Send(String),
}

fn err(e: impl std::fmt::Display) -> EngineError {
    EngineError::Io {
        path: "mail settings".into(),
        source: std::io::Error::other(e.to_string()),
    }
}

impl Mailer {
    /// The mailer the settings describe.
    pub fn from_settings(settings: &Settings, policy: &Policy) -> Result<Self, EngineError> {
        let m = &settings.mail;
        let from_text = if m.from.is_empty() {
            format!(
                "{} <{}>",
                policy.controller.party.name, policy.controller.dpo.email
            )
        } else {
            m.from.clone()
        };
        let from: Mailbox = from_text
            .parse()
            .map_err(|e| err(format!("[mail] from: {e}")))?;
        match m.transport.as_str() {
            "outbox" => {
                let dir = if m.outbox_dir.is_empty() {
                    settings.storage.data_dir.join("outbox")
                } else {
                    PathBuf::from(&m.outbox_dir)
                };
                Ok(Self::Outbox { dir, from })
            }
            "smtp" => {
                let url = m.smtp_url.replacen("smtp+plain://", "smtp://", 1);
                let transport = if m.smtp_url.starts_with("smtp+plain://") {
                    let rest = url.trim_start_matches("smtp://");
                    let (host, port) = rest.split_once(':').map_or((rest, 25), |(h, p)| {
                        (h, p.trim_end_matches('/').parse().unwrap_or(25))
                    });
                    SmtpTransport::builder_dangerous(host).port(port).build()
                } else {
                    SmtpTransport::from_url(&url)
                        .map_err(|e| err(format!("[mail] smtp_url: {e}")))?
                        .build()
                };
                Ok(Self::Smtp {
                    transport: Box::new(transport),
                    from,
                })
            }
            other => Err(err(format!(
                "[mail] transport `{other}`: use outbox or smtp"
            ))),
        }
    }

    /// Sends a plain-text message.
    pub fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), MailError> {
        self.send_with_id(to, subject, body, None)
    }

    /// The domain of the sender's address, for Message-IDs.
    pub fn domain(&self) -> String {
        match self {
            Self::Outbox { from, .. } | Self::Smtp { from, .. } => from.email.domain().to_owned(),
        }
    }

    /// Sends a plain-text message with Message-ID `message_id` (`<…@…>`) when given: a message
    /// sent twice with the same Message-ID is one message to a receiver that de-duplicates
    /// (issue 14).
    pub fn send_with_id(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        message_id: Option<&str>,
    ) -> Result<(), MailError> {
        let to: Mailbox = to
            .parse()
            .map_err(|_| MailError::Build("the recipient address does not parse".into()))?;
        let from = match self {
            Self::Outbox { from, .. } | Self::Smtp { from, .. } => from.clone(),
        };
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(subject)
            .message_id(message_id.map(str::to_owned))
            // Quoted-printable UTF-8: French accents survive every relay, and the text stays
            // readable in the raw message.
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .header(ContentTransferEncoding::QuotedPrintable)
                    .body(body.to_owned()),
            )
            .map_err(|e| MailError::Build(e.to_string()))?;
        match self {
            Self::Outbox { dir, .. } => {
                // Messages hold addresses and codes: 0600 files in a 0700 directory.
                rightful_store::private::dir(dir).map_err(|e| MailError::Send(e.to_string()))?;
                let name = format!(
                    "{}-{}.eml",
                    chrono::Utc::now().format("%Y%m%dT%H%M%S%.6f"),
                    uuid::Uuid::new_v4().simple()
                );
                rightful_store::private::write(&dir.join(name), &message.formatted())
                    .map_err(|e| MailError::Send(e.to_string()))
            }
            Self::Smtp { transport, .. } => transport
                .send(&message)
                .map(|_| ())
                .map_err(|e| MailError::Send(e.to_string())),
        }
    }
}

/// Whether the mailer can write to `email` at all: an address it would refuse is refused at
/// intake, instead of a request that stalls silently (issue 12 item 9).
pub fn check_recipient(email: &str) -> Result<(), String> {
    email.parse::<lettre::Address>().map(|_| ()).map_err(|_| {
        "the e-mail address is not valid: give a plain address such as name@example.org".into()
    })
}

impl Mailer {
    /// Deletes the outbox's messages older than `days` (they hold addresses and codes): the
    /// outbox stands in for a mail server, and nothing keeps a message once it is that old.
    /// Returns how many went; nothing for the SMTP transport.
    pub fn sweep_outbox(&self, days: u64, now: std::time::SystemTime) -> usize {
        let Self::Outbox { dir, .. } = self else {
            return 0;
        };
        let max_age = std::time::Duration::from_secs(days * 86_400);
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter(|e| {
                e.path().extension().is_some_and(|x| x == "eml")
                    && e.metadata()
                        .and_then(|m| m.modified())
                        .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age > max_age))
            })
            .filter(|e| std::fs::remove_file(e.path()).is_ok())
            .count()
    }
}
