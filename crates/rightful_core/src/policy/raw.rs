//! The TOML shapes of the policy files, before validation. Closed sets stay strings here so that
//! a wrong value becomes a precise [`super::PolicyError`] instead of a generic serde message.

use super::{
    Authority, DataSource, Errs, Party, SecurityMeasures, Source, SubjectCategory, Transfer,
};
use crate::retention::{Condition, Period, RetentionRule};
use chrono::NaiveDate;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Controller {
    pub controller: Party,
    #[serde(default)]
    pub legal_form: String,
    #[serde(default)]
    pub registration: String,
    #[serde(default)]
    pub website: String,
    #[serde(default)]
    pub binding_language: String,
    #[serde(default, deserialize_with = "crate::tomldate::option")]
    pub policy_updated: Option<NaiveDate>,
    #[serde(default)]
    pub representative: Option<Party>,
    pub dpo: Party,
    #[serde(default)]
    pub joint_controllers: Vec<Party>,
    pub supervisory_authority: Authority,
    #[serde(default)]
    pub recipients: Vec<Recipient>,
    #[serde(default)]
    pub security: SecurityMeasures,
    /// Local DPV terms (`ex:BlogCommenting`) and the DPV term each one narrows.
    #[serde(default)]
    pub dpv_extensions: BTreeMap<String, String>,
    /// What each request type must carry (SPEC §6).
    #[serde(default)]
    pub evidence: BTreeMap<String, crate::evidence::RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Recipient {
    pub id: String,
    pub name: String,
    pub role: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub country: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Purpose {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub sub_purposes: Vec<String>,
    #[serde(default)]
    pub dpv_purposes: Vec<String>,
    #[serde(default, deserialize_with = "crate::tomldate::option")]
    pub created: Option<NaiveDate>,
    #[serde(default, deserialize_with = "crate::tomldate::option")]
    pub updated: Option<NaiveDate>,
    #[serde(default)]
    pub legal_basis: Vec<Basis>,
    #[serde(default)]
    pub marketing: bool,
    #[serde(default = "yes")]
    pub automated_means: bool,
    #[serde(default)]
    pub withdrawal: Option<String>,
    #[serde(default)]
    pub data_subjects: Vec<SubjectCategory>,
    #[serde(default)]
    pub sources: Vec<DataSource>,
    #[serde(default)]
    pub recipients: Vec<String>,
    #[serde(default)]
    pub transfers: Option<Vec<Transfer>>,
    #[serde(default)]
    pub automated_decisions: Option<String>,
    #[serde(default)]
    pub security: Option<SecurityMeasures>,
    #[serde(default)]
    pub retention: Option<Retention>,
    #[serde(default)]
    pub data: Vec<Data>,
}

const fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Basis {
    pub basis: String,
    #[serde(default)]
    pub case: String,
    #[serde(default)]
    pub interest: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Data {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub cnil_category: String,
    #[serde(default = "provided")]
    pub origin: String,
    #[serde(default)]
    pub sensitive: Option<String>,
    #[serde(default)]
    pub dpv: Vec<String>,
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
    #[serde(default)]
    pub retention: Option<Retention>,
    #[serde(default)]
    pub erasure: Option<Erasure>,
}

fn provided() -> String {
    "provided".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FieldSpec {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub mandatory: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Erasure {
    pub action: String,
    #[serde(default)]
    pub ground: Option<String>,
    #[serde(default)]
    pub reference: Option<String>,
}

/// `keep_for` + `from`, or `until`; optional `[[…cases]]` with a condition each.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Retention {
    #[serde(default)]
    pub keep_for: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub until: Option<String>,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub cases: Vec<Case>,
    #[serde(default)]
    pub archive_after: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Case {
    #[serde(default)]
    pub if_subject_in: Option<String>,
    #[serde(default)]
    pub if_subject_not_in: Option<String>,
    #[serde(default)]
    pub keep_for: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub until: Option<String>,
    #[serde(default)]
    pub note: String,
}

fn toml_error(src: &Source, e: &toml::de::Error, errs: &mut Errs, purpose: &str) {
    // Counting newlines before the span (not `lines()`, which is one short when the span starts
    // a line, as an unknown key does).
    let line = e
        .span()
        .map(|s| crate::tomlpos::line_of(&src.text, s.start));
    let field = line.map_or_else(|| "-".to_owned(), |l| format!("line {l}"));
    errs.push(&src.path, purpose, &field, e.message().trim().to_owned());
}

pub(super) fn parse_controller(src: &Source, errs: &mut Errs) -> Option<Controller> {
    toml::from_str(&src.text)
        .map_err(|e| toml_error(src, &e, errs, "-"))
        .ok()
}

pub(super) fn parse_purpose(src: &Source, errs: &mut Errs) -> Option<Purpose> {
    toml::from_str(&src.text)
        .map_err(|e| {
            // Name the purpose in the message even when the file does not parse as a whole.
            let id = toml::from_str::<toml::Table>(&src.text)
                .ok()
                .and_then(|t| t.get("id").and_then(|v| v.as_str()).map(str::to_owned))
                .unwrap_or_else(|| "?".to_owned());
            toml_error(src, &e, errs, &id);
        })
        .ok()
}

fn period(
    keep_for: Option<&str>,
    from: Option<&str>,
    until: Option<&str>,
    field: &str,
    push: &mut dyn FnMut(&str, String),
) -> Option<Period> {
    match (keep_for, from, until) {
        (Some(d), Some(from), None) => {
            let duration = super::parse_duration(d)
                .map_err(|m| push(&format!("{field}.keep_for"), m))
                .ok();
            let event = super::parse_event(from)
                .map_err(|m| push(&format!("{field}.from"), m))
                .ok();
            Some(Period::For {
                duration: duration?,
                from: event?,
            })
        }
        (Some(_), None, None) => {
            push(&format!("{field}.from"), "a period needs the event it runs from (collection, request, publication, end_of_contract, last_activity, withdrawal, end_of_role)".into());
            None
        }
        (None, None, Some(until)) => {
            let event = super::parse_event(until)
                .map_err(|m| push(&format!("{field}.until"), m))
                .ok()?;
            Some(Period::Until { event })
        }
        (None, None, None) | (None, Some(_), None) => {
            push(
                &format!("{field}.keep_for"),
                "a retention rule needs a period (`keep_for` + `from`) or an event (`until`)"
                    .into(),
            );
            None
        }
        _ => {
            push(
                field,
                "give either `keep_for` + `from` or `until`, not both".into(),
            );
            None
        }
    }
}

pub(super) fn convert_retention(
    r: &Retention,
    field: &str,
    purposes: &BTreeSet<String>,
    push: &mut dyn FnMut(&str, String),
) -> Option<RetentionRule> {
    let default = period(
        r.keep_for.as_deref(),
        r.from.as_deref(),
        r.until.as_deref(),
        field,
        push,
    );
    let mut cases = Vec::new();
    let mut ok = true;
    for (i, c) in r.cases.iter().enumerate() {
        let cf = format!("{field}.cases[{i}]");
        let condition = match (&c.if_subject_in, &c.if_subject_not_in) {
            (Some(p), None) => Some((p, true)),
            (None, Some(p)) => Some((p, false)),
            _ => {
                push(&cf, "a case needs exactly one condition: `if_subject_in` or `if_subject_not_in` a purpose".into());
                None
            }
        };
        let condition = condition.and_then(|(p, present)| {
            if purposes.contains(p) {
                super::PurposeId::parse(p).ok().map(|id| {
                    if present {
                        Condition::AppearsIn(id)
                    } else {
                        Condition::AbsentFrom(id)
                    }
                })
            } else {
                push(
                    &cf,
                    format!("the condition names purpose `{p}`, which no purpose file declares"),
                );
                None
            }
        });
        let per = period(
            c.keep_for.as_deref(),
            c.from.as_deref(),
            c.until.as_deref(),
            &cf,
            push,
        );
        match (condition, per) {
            (Some(cond), Some(per)) => cases.push(super::make_case(cond, per, c.note.clone())),
            _ => ok = false,
        }
    }
    let default = default?;
    let archive_after = match r.archive_after.as_deref() {
        None => None,
        Some(a) => match super::parse_duration(a) {
            Err(m) => {
                push(&format!("{field}.archive_after"), m);
                ok = false;
                None
            }
            Ok(d) => {
                // The archive comes before the end: every period must outlast it, from the same
                // event.
                let probe = chrono::NaiveDate::from_ymd_opt(2000, 1, 1);
                let archived = probe.and_then(|p| d.after(p));
                let outlasts = |per: &Period| match per {
                    Period::For { duration, from } => {
                        *from == default.event() && probe.and_then(|p| duration.after(p)) > archived
                    }
                    Period::Until { .. } => false,
                };
                if outlasts(&default) && cases.iter().all(|c| outlasts(&c.period)) {
                    Some(d)
                } else {
                    push(&format!("{field}.archive_after"), "records move to the archive before their period ends: give a period (`keep_for` + `from`) longer than `archive_after`, and the same event in every case".into());
                    ok = false;
                    None
                }
            }
        },
    };
    ok.then(|| {
        let mut rule = super::make_rule(default, cases);
        rule.note = r.note.clone();
        rule.archive_after = archive_after;
        rule
    })
}
