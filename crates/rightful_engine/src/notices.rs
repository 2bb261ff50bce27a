//! Messages to data subjects and the DPO, from templates in French and English (checklist A4, A10,
//! A11, A12): `<templates_dir>/<language>/<name>.txt`, the first line `Subject: …`, `{{value}}`
//! placeholders. Every template of every language is loaded and checked when the engine opens,
//! so a missing file or an unknown placeholder stops the server at start-up, not a refusal notice
//! at the worst moment. A notice sent to a subject is written to the audit trail (`notice.sent`,
//! with its kind and language, never its text).

use crate::{Engine, EngineError};
use chrono::{DateTime, Utc};
use rightful_core::audit::EntryContent;
use std::collections::BTreeMap;
use std::path::Path;

/// The languages messages are written in.
pub const LANGUAGES: [&str; 2] = ["en", "fr"];

/// Each template and the values it may use.
pub const TEMPLATES: &[(&str, &[&str])] = &[
    (
        "received_code",
        &[
            "controller",
            "request_id",
            "request_type",
            "received_on",
            "due_on",
            "code",
            "minutes",
        ],
    ),
    (
        "received",
        &[
            "controller",
            "request_id",
            "request_type",
            "received_on",
            "due_on",
        ],
    ),
    (
        "denied",
        &[
            "controller",
            "request_id",
            "request_type",
            "received_on",
            "reason_code",
            "reasons",
            "authority_name",
            "authority_address",
            "complaint_url",
            "dpo_contact",
        ],
    ),
    (
        "extended",
        &[
            "controller",
            "request_id",
            "request_type",
            "received_on",
            "due_on",
            "reasons",
            "dpo_contact",
        ],
    ),
    (
        "documents_requested",
        &[
            "controller",
            "request_id",
            "request_type",
            "documents",
            "reasons",
            "max_kib",
            "days",
        ],
    ),
    (
        "completed",
        &[
            "controller",
            "request_id",
            "request_type",
            "received_on",
            "summary",
            "download",
            "authority_name",
            "complaint_url",
            "dpo_contact",
        ],
    ),
    (
        "restriction_lifted",
        &[
            "controller",
            "request_id",
            "request_type",
            "received_on",
            "reasons",
            "dpo_contact",
        ],
    ),
    (
        "reminder",
        &[
            "request_id",
            "request_type",
            "status",
            "due_on",
            "days_left",
        ],
    ),
];

#[derive(Debug, Clone)]
struct Template {
    subject: String,
    body: String,
}

/// The loaded templates.
#[derive(Debug, Clone, Default)]
pub struct Templates {
    map: BTreeMap<(String, String), Template>,
}

fn placeholders(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push(after[..end].trim());
        rest = &after[end + 2..];
    }
    out
}

fn io(path: &Path, m: impl Into<String>) -> EngineError {
    EngineError::Io {
        path: path.display().to_string(),
        source: std::io::Error::other(m.into()),
    }
}

impl Templates {
    /// Loads and checks every template of every language from `dir`.
    pub fn load(dir: &Path) -> Result<Self, EngineError> {
        let mut map = BTreeMap::new();
        for lang in LANGUAGES {
            for (name, allowed) in TEMPLATES {
                let path = dir.join(lang).join(format!("{name}.txt"));
                let text = std::fs::read_to_string(&path).map_err(|e| EngineError::Io {
                    path: path.display().to_string(),
                    source: e,
                })?;
                let (first, body) = text.split_once('\n').unwrap_or((&text, ""));
                let subject = first
                    .strip_prefix("Subject:")
                    .ok_or_else(|| io(&path, "the first line must be `Subject: …`"))?
                    .trim()
                    .to_owned();
                for p in placeholders(&text) {
                    if !allowed.contains(&p) {
                        return Err(io(
                            &path,
                            format!("unknown value `{{{{{p}}}}}`: use {}", allowed.join(", ")),
                        ));
                    }
                }
                map.insert(
                    ((*lang).to_owned(), (*name).to_owned()),
                    Template {
                        subject,
                        body: body.trim_start_matches('\n').to_owned(),
                    },
                );
            }
        }
        Ok(Self { map })
    }

    /// Renders `name` in `lang` (English when the language is not known); `None` only for a name
    /// not in [`TEMPLATES`].
    pub fn render(
        &self,
        lang: &str,
        name: &str,
        values: &[(&str, String)],
    ) -> Option<(String, String)> {
        let lang = if LANGUAGES.contains(&lang) {
            lang
        } else {
            "en"
        };
        let t = self.map.get(&(lang.to_owned(), name.to_owned()))?;
        let fill = |s: &str| {
            let mut out = s.to_owned();
            for (k, v) in values {
                out = out.replace(&format!("{{{{{k}}}}}"), v);
            }
            out
        };
        Some((fill(&t.subject), fill(&t.body)))
    }
}

/// The language to write in: the request's when it is one we have, else the configured default.
pub fn language(engine: &Engine, requested: Option<&str>) -> String {
    requested
        .filter(|l| LANGUAGES.contains(l))
        .unwrap_or(&engine.settings.mail.language)
        .to_owned()
}

/// Values every subject notice may use.
pub fn common_values(engine: &Engine) -> Vec<(&'static str, String)> {
    let c = &engine.policy.controller;
    let dpo = [c.dpo.email.as_str(), c.dpo.phone.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    vec![
        ("controller", c.party.name.clone()),
        ("dpo_contact", dpo),
        ("authority_name", c.authority.name.clone()),
        ("authority_address", c.authority.address.to_string()),
        ("complaint_url", c.authority.complaint_url.clone()),
    ]
}

/// Why a notice was not sent (only the kind of failure: a transport's message may quote the
/// recipient).
#[derive(Debug, thiserror::Error)]
#[error("the notice could not be sent: {0}")]
pub struct NoticeError(pub &'static str);

/// Mails notice `name` to `to` about request `request_id`, then records `notice.sent` in the
/// audit trail.
pub async fn send(
    engine: &Engine,
    request_id: &str,
    to: &str,
    lang: &str,
    name: &'static str,
    values: Vec<(&'static str, String)>,
    now: DateTime<Utc>,
) -> Result<(), NoticeError> {
    let (subject, body) = engine
        .templates
        .render(lang, name, &values)
        .ok_or(NoticeError("no such template"))?;
    let (mailer, to) = (engine.mailer.clone(), to.to_owned());
    let sent = tokio::task::spawn_blocking(move || mailer.send(&to, &subject, &body)).await;
    let why = match sent {
        Ok(Ok(())) => None,
        Ok(Err(crate::mail::MailError::Build(_))) => Some("the message could not be built"),
        Ok(Err(crate::mail::MailError::Send(_))) => Some("the mail transport refused or failed"),
        Err(_) => Some("the mail task failed"),
    };
    if let Some(why) = why {
        engine.metrics.mail_failed(crate::metrics::MailKind::Notice);
        tracing::error!(request.id = %request_id, notice = name, error = why, "notice not sent");
        return Err(NoticeError(why));
    }
    let (id, lang) = (request_id.to_owned(), lang.to_owned());
    let recorded = engine
        .store
        .run(move |c| {
            rightful_store::models::audit::append(
                c,
                vec![EntryContent {
                    at: now,
                    actor: "system".into(),
                    action: "notice.sent".into(),
                    target: id,
                    reason: String::new(),
                    details: serde_json::json!({"notice": name, "language": lang, "channel": "email"}),
                }],
            )
        })
        .await;
    if let Err(e) = recorded {
        tracing::error!(request.id = %request_id, error = %e, "notice sent but not recorded");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/templates")
    }

    #[test]
    fn the_shipped_templates_load_in_both_languages_and_fill_every_value_a11() {
        let t = Templates::load(&root()).unwrap();
        for lang in LANGUAGES {
            for (name, allowed) in TEMPLATES {
                let values: Vec<(&str, String)> =
                    allowed.iter().map(|k| (*k, format!("<{k}>"))).collect();
                let (subject, body) = t.render(lang, name, &values).unwrap();
                let all = format!("{subject}\n{body}");
                assert!(!all.contains("{{"), "{lang}/{name}: {all}");
            }
        }
        // A10: the refusal has its three blocks in both languages.
        let values: Vec<(&str, String)> = TEMPLATES[2]
            .1
            .iter()
            .map(|k| (*k, format!("<{k}>")))
            .collect();
        for lang in LANGUAGES {
            let (_, body) = t.render(lang, "denied", &values).unwrap();
            for needle in ["<reasons>", "<complaint_url>", "<authority_name>", "79"] {
                assert!(body.contains(needle), "{lang}: {needle}");
            }
        }
    }

    #[test]
    fn a_template_with_an_unknown_value_or_a_missing_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        for lang in LANGUAGES {
            std::fs::create_dir_all(dir.path().join(lang)).unwrap();
            for (name, _) in TEMPLATES {
                std::fs::copy(
                    root().join(lang).join(format!("{name}.txt")),
                    dir.path().join(lang).join(format!("{name}.txt")),
                )
                .unwrap();
            }
        }
        assert!(Templates::load(dir.path()).is_ok());
        std::fs::write(
            dir.path().join("fr/denied.txt"),
            "Subject: x\n\n{{password}}\n",
        )
        .unwrap();
        let e = Templates::load(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("denied.txt") && e.contains("unknown value `{{password}}`"),
            "{e}"
        );
        std::fs::remove_file(dir.path().join("fr/denied.txt")).unwrap();
        let e = Templates::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("denied.txt"), "{e}");
    }
}
