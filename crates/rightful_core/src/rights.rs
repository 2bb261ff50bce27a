//! Rights decisions (GDPR Arts. 15–22, 7(3); checklist C1–C11): which rights apply to a purpose
//! given its legal basis, and for a request the plan per purpose and data category.
//!
//! The plan says what happens to each category in which the subject appears: disclosed, exported,
//! rectified, erased or anonymised (with the Art. 17(1) ground), restricted, or kept (with the
//! Art. 17(3) ground and the date until which it is kept), or that the right does not apply and
//! why. Connectors carry the plan out; nothing here touches a store.

use crate::policy::{
    CategoryId, DataCategory, ErasureRule, FieldId, KeepGround, LegalBasis, Origin, Policy,
    Purpose, PurposeId,
};
use crate::retention::StartEvent;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A data-subject right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Right {
    /// Art. 15.
    Access,
    /// Art. 16.
    Rectification,
    /// Art. 17.
    Erasure,
    /// Art. 18.
    Restriction,
    /// Art. 20.
    Portability,
    /// Art. 21(1): objection on grounds relating to the subject's particular situation.
    Objection,
    /// Art. 21(2)–(3): objection to direct marketing, absolute.
    MarketingObjection,
    /// Art. 7(3): withdrawal of consent.
    WithdrawConsent,
    /// Art. 77: complaint to the supervisory authority.
    Complaint,
}

impl Right {
    /// Every right, in article order.
    pub const ALL: [Self; 9] = [
        Self::Access,
        Self::Rectification,
        Self::Erasure,
        Self::Restriction,
        Self::Portability,
        Self::Objection,
        Self::MarketingObjection,
        Self::WithdrawConsent,
        Self::Complaint,
    ];

    /// The article.
    pub fn article(self) -> &'static str {
        match self {
            Self::Access => "Art. 15",
            Self::Rectification => "Art. 16",
            Self::Erasure => "Art. 17",
            Self::Restriction => "Art. 18",
            Self::Portability => "Art. 20",
            Self::Objection => "Art. 21(1)",
            Self::MarketingObjection => "Art. 21(2)",
            Self::WithdrawConsent => "Art. 7(3)",
            Self::Complaint => "Art. 77",
        }
    }

    /// The DPV term (`eu-gdpr:A15` …).
    pub fn dpv(self) -> &'static str {
        match self {
            Self::Access => "eu-gdpr:A15",
            Self::Rectification => "eu-gdpr:A16",
            Self::Erasure => "eu-gdpr:A17",
            Self::Restriction => "eu-gdpr:A18",
            Self::Portability => "eu-gdpr:A20",
            Self::Objection | Self::MarketingObjection => "eu-gdpr:A21",
            Self::WithdrawConsent => "eu-gdpr:A7-3",
            Self::Complaint => "eu-gdpr:A77",
        }
    }
}

/// Whether a right applies to a purpose, and why not when it does not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "applies", content = "reason", rename_all = "snake_case")]
pub enum Applicability {
    /// The right applies.
    Yes,
    /// It applies only under some of the purpose's bases (the named sub-cases).
    Partly(String),
    /// It does not apply, for this reason.
    No(String),
}

/// C11: whether `right` applies under one legal basis, and why not.
fn under_basis(right: Right, basis: LegalBasis, marketing: bool) -> Result<(), String> {
    use LegalBasis as B;
    match right {
        Right::Access | Right::Rectification | Right::Restriction | Right::Complaint => Ok(()),
        Right::Erasure => match basis {
            B::LegalObligation => Err("processing required by a legal obligation is kept under Art. 17(3)(b)".into()),
            _ => Ok(()),
        },
        Right::Portability => match basis {
            B::Consent | B::Contract => Ok(()),
            B::PublicTask => Err("Art. 20(3): portability does not apply to a task in the public interest".into()),
            other => Err(format!(
                "Art. 20(1)(a): portability covers processing based on consent or contract, not on {} ({})",
                other.label(),
                other.article()
            )),
        },
        Right::Objection => match basis {
            B::LegitimateInterest | B::PublicTask => Ok(()),
            B::Consent => Err("Art. 21(1) covers public task or legitimate interest; consent can be withdrawn instead (Art. 7(3))".into()),
            other => Err(format!("Art. 21(1) covers public task or legitimate interest, not {} ({})", other.label(), other.article())),
        },
        Right::MarketingObjection => {
            if marketing {
                Ok(())
            } else {
                Err("Art. 21(2) concerns direct marketing; this purpose is not marketing".into())
            }
        }
        Right::WithdrawConsent => match basis {
            B::Consent => Ok(()),
            other => Err(format!("the processing rests on {} ({}), not on consent", other.label(), other.article())),
        },
    }
}

/// C11: whether `right` applies to `purpose`, considering every basis of it.
pub fn applicability(purpose: &Purpose, right: Right) -> Applicability {
    let results: Vec<(&str, Result<(), String>)> = purpose
        .bases
        .iter()
        .map(|b| {
            (
                b.case.as_str(),
                under_basis(right, b.basis, purpose.marketing),
            )
        })
        .collect();
    if right == Right::Portability && !purpose.automated_means {
        return Applicability::No(
            "Art. 20(1)(b): the processing is not carried out by automated means".into(),
        );
    }
    let ok: Vec<&str> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(c, _)| *c)
        .collect();
    if ok.len() == results.len() {
        Applicability::Yes
    } else if ok.is_empty() {
        let mut reasons: Vec<String> = results.into_iter().filter_map(|(_, r)| r.err()).collect();
        reasons.dedup();
        Applicability::No(reasons.join("; "))
    } else {
        Applicability::Partly(format!("only for: {}", ok.join("; ")))
    }
}

/// C11: every right with its applicability for `purpose`.
pub fn rights_matrix(purpose: &Purpose) -> Vec<(Right, Applicability)> {
    Right::ALL
        .into_iter()
        .map(|r| (r, applicability(purpose, r)))
        .collect()
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RequestKind {
    /// Art. 15.
    Access,
    /// Art. 16: the fields to correct (the new values travel separately, never through the core).
    Rectification {
        /// Field ids whose values change.
        fields: BTreeSet<FieldId>,
    },
    /// Art. 17.
    Erasure,
    /// Art. 18.
    Restriction,
    /// Art. 20.
    Portability,
    /// Art. 21.
    Objection,
    /// Art. 7(3).
    WithdrawConsent,
}

/// Art. 17(1) grounds for erasure (checklist C2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErasureGround {
    /// (a) no longer necessary for the purpose.
    NoLongerNecessary,
    /// (b) consent withdrawn and no other legal ground.
    ConsentWithdrawn,
    /// (c) objection under 21(1) with no overriding grounds, or under 21(2).
    Objection,
    /// (d) unlawfully processed.
    Unlawful,
    /// (e) a legal obligation to erase.
    LegalObligationToErase,
    /// (f) data of a child collected for an information-society service.
    ChildData,
}

impl ErasureGround {
    /// The article.
    pub fn article(self) -> &'static str {
        match self {
            Self::NoLongerNecessary => "Art. 17(1)(a)",
            Self::ConsentWithdrawn => "Art. 17(1)(b)",
            Self::Objection => "Art. 17(1)(c)",
            Self::Unlawful => "Art. 17(1)(d)",
            Self::LegalObligationToErase => "Art. 17(1)(e)",
            Self::ChildData => "Art. 17(1)(f)",
        }
    }
}

/// Why data is restricted (Art. 18(1); checklist C5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestrictionReason {
    /// The subject asked for restriction (Art. 18(1)(a)–(c)).
    SubjectRequest,
    /// An objection under Art. 21(1) awaits the DPO's assessment (Art. 18(1)(d)).
    ObjectionPending,
}

/// What happens to one data category of one purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Shown to the subject (Art. 15).
    Disclose,
    /// Exported in a machine-readable file (Art. 20).
    Export,
    /// These fields are rectified (Art. 16).
    Rectify {
        /// The fields of this category that change.
        fields: Vec<FieldId>,
    },
    /// Erased, on this Art. 17(1) ground.
    Erase {
        /// The ground.
        ground: ErasureGround,
    },
    /// Irreversibly anonymised, on this Art. 17(1) ground.
    Anonymise {
        /// The ground.
        ground: ErasureGround,
    },
    /// Stored only, no other processing (Art. 18).
    Restrict {
        /// Why.
        reason: RestrictionReason,
    },
    /// Kept despite the request.
    Keep {
        /// The ground (Art. 17(3) or why the data is still necessary).
        ground: KeepGround,
        /// The law or reason.
        reference: String,
        /// The last day it is kept, when known.
        until: Option<NaiveDate>,
    },
    /// The right does not apply to this data, for this reason (told to the subject, A10).
    NotApplicable {
        /// Why.
        reason: String,
    },
}

/// The plan for one purpose × category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanItem {
    /// Purpose.
    pub purpose: PurposeId,
    /// Data category.
    pub category: CategoryId,
    /// What happens.
    pub action: Action,
}

/// What is known of the subject in one purpose, from the stores.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurposeFacts {
    /// Dates of the events that retention runs from (latest per event).
    pub events: BTreeMap<StartEvent, NaiveDate>,
    /// A contract with the subject is still running in this purpose.
    pub contract_running: bool,
}

/// What is known of the subject: the purposes they appear in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectFacts {
    /// Purposes in which records of the subject were found.
    pub purposes: BTreeMap<PurposeId, PurposeFacts>,
}

impl SubjectFacts {
    /// The ids of the purposes the subject appears in.
    pub fn present_in(&self) -> BTreeSet<PurposeId> {
        self.purposes.keys().cloned().collect()
    }
}

/// The plan for a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// One item per purpose × category in scope where the subject appears.
    pub items: Vec<PlanItem>,
    /// Purposes where a minimal suppression entry must be kept so that a marketing objection is
    /// honoured later (C7).
    pub suppression: Vec<PurposeId>,
}

impl Plan {
    /// The items that keep data, for the partial-refusal notice (A10).
    pub fn kept(&self) -> impl Iterator<Item = &PlanItem> {
        self.items
            .iter()
            .filter(|i| matches!(i.action, Action::Keep { .. }))
    }

    /// The items the right did not cover, with reasons.
    pub fn not_applicable(&self) -> impl Iterator<Item = &PlanItem> {
        self.items
            .iter()
            .filter(|i| matches!(i.action, Action::NotApplicable { .. }))
    }

    /// Data kept "until" a day that has passed is no longer covered by its ground: on `today` it
    /// is erased as no longer necessary (Art. 17(1)(a)) instead of kept (C3: a legal obligation
    /// to keep invoices for ten years ends after ten years).
    pub fn expire_kept(&mut self, today: NaiveDate) {
        for item in &mut self.items {
            if let Action::Keep { until: Some(d), .. } = item.action
                && d < today
            {
                item.action = Action::Erase {
                    ground: ErasureGround::NoLongerNecessary,
                };
            }
        }
    }

    /// The action for one purpose × category.
    pub fn action(&self, purpose: &str, category: &str) -> Option<&Action> {
        self.items
            .iter()
            .find(|i| i.purpose.as_ref() == purpose && i.category.as_ref() == category)
            .map(|i| &i.action)
    }
}

/// The erasure ground that fits a purpose's basis: consent → (b), legitimate interest or public
/// task → (c) (the request is read as an objection), otherwise → (a).
fn erasure_ground(purpose: &Purpose) -> ErasureGround {
    if purpose.has_basis(LegalBasis::Consent) {
        ErasureGround::ConsentWithdrawn
    } else if purpose.has_basis(LegalBasis::LegitimateInterest)
        || purpose.has_basis(LegalBasis::PublicTask)
    {
        ErasureGround::Objection
    } else {
        ErasureGround::NoLongerNecessary
    }
}

/// Erasure of one category on `ground`, unless the law or the contract keeps it (C3: decided per
/// data item, not per person).
fn erase_or_keep(
    purpose: &Purpose,
    cat: &DataCategory,
    facts: &PurposeFacts,
    present: &BTreeSet<PurposeId>,
    ground: ErasureGround,
) -> Action {
    let until = cat.retention.end(present, &facts.events);
    if let ErasureRule::Keep { ground, reference } = &cat.erasure {
        return Action::Keep {
            ground: *ground,
            reference: reference.clone(),
            until,
        };
    }
    if purpose
        .bases
        .iter()
        .all(|b| b.basis == LegalBasis::LegalObligation)
    {
        return Action::Keep {
            ground: KeepGround::LegalObligation,
            reference: "Art. 17(3)(b): the processing is required by a legal obligation".into(),
            until,
        };
    }
    if facts.contract_running
        && purpose.has_basis(LegalBasis::Contract)
        && ground == ErasureGround::NoLongerNecessary
    {
        return Action::Keep {
            ground: KeepGround::ContractInProgress,
            reference: "the contract is still being performed; the data is erased once it ends"
                .into(),
            until: None,
        };
    }
    match cat.erasure {
        ErasureRule::Anonymise => Action::Anonymise { ground },
        _ => Action::Erase { ground },
    }
}

/// Builds the plan for `kind` over the purposes the subject appears in, limited to `scope` when
/// given (e.g. withdrawing consent for one newsletter only).
pub fn plan(
    policy: &Policy,
    kind: &RequestKind,
    facts: &SubjectFacts,
    scope: Option<&BTreeSet<PurposeId>>,
) -> Plan {
    let present = facts.present_in();
    let mut items = Vec::new();
    let mut suppression = Vec::new();
    for purpose in &policy.purposes {
        let Some(pf) = facts.purposes.get(&purpose.id) else {
            continue;
        };
        if scope.is_some_and(|s| !s.contains(&purpose.id)) {
            continue;
        }
        let whole_purpose = |right: Right| match applicability(purpose, right) {
            Applicability::No(reason) => Some(reason),
            Applicability::Yes | Applicability::Partly(_) => None,
        };
        for cat in &purpose.categories {
            let action = match kind {
                RequestKind::Access => Action::Disclose,
                RequestKind::Restriction => Action::Restrict { reason: RestrictionReason::SubjectRequest },
                RequestKind::Rectification { fields } => {
                    let hit: Vec<FieldId> = cat.fields.iter().filter(|f| fields.contains(&f.id)).map(|f| f.id.clone()).collect();
                    if hit.is_empty() {
                        continue;
                    }
                    Action::Rectify { fields: hit }
                }
                RequestKind::Portability => match whole_purpose(Right::Portability) {
                    Some(reason) => Action::NotApplicable { reason },
                    None => match cat.origin {
                        Origin::Provided | Origin::Observed => Action::Export,
                        Origin::Derived | Origin::Inferred => Action::NotApplicable {
                            reason: "derived or inferred data is not data provided by the subject (Art. 20(1), WP242)".into(),
                        },
                    },
                },
                // Legal-obligation processing, erasure exceptions and running contracts are kept
                // by `erase_or_keep`, per data category (C3).
                RequestKind::Erasure => erase_or_keep(purpose, cat, pf, &present, erasure_ground(purpose)),
                RequestKind::Objection => {
                    if purpose.marketing {
                        // Art. 21(3): absolute, no balancing; keep only a suppression entry (C7).
                        erase_or_keep(purpose, cat, pf, &present, ErasureGround::Objection)
                    } else {
                        match whole_purpose(Right::Objection) {
                            Some(reason) => Action::NotApplicable { reason },
                            // C7, C5(d): restricted until the DPO records an assessment.
                            None => Action::Restrict { reason: RestrictionReason::ObjectionPending },
                        }
                    }
                }
                RequestKind::WithdrawConsent => match whole_purpose(Right::WithdrawConsent) {
                    Some(reason) => Action::NotApplicable { reason },
                    None if purpose.bases.iter().all(|b| b.basis == LegalBasis::Consent) => {
                        erase_or_keep(purpose, cat, pf, &present, ErasureGround::ConsentWithdrawn)
                    }
                    // Another basis covers part of the processing: only the consent part stops.
                    None => Action::Restrict { reason: RestrictionReason::SubjectRequest },
                },
            };
            items.push(PlanItem {
                purpose: purpose.id.clone(),
                category: cat.id.clone(),
                action,
            });
        }
        if matches!(kind, RequestKind::Objection) && purpose.marketing {
            suppression.push(purpose.id.clone());
        }
    }
    Plan { items, suppression }
}

/// C7: the outcome of the DPO's assessment of an Art. 21(1) objection for one category: erased
/// unless compelling legitimate grounds were documented.
pub fn objection_outcome(
    purpose: &Purpose,
    cat: &DataCategory,
    facts: &PurposeFacts,
    present: &BTreeSet<PurposeId>,
    compelling_grounds: Option<&str>,
) -> Action {
    match compelling_grounds {
        Some(reasons) if !reasons.trim().is_empty() => Action::Keep {
            ground: KeepGround::CompellingLegitimateGrounds,
            reference: reasons.to_owned(),
            until: cat.retention.end(present, &facts.events),
        },
        _ => erase_or_keep(purpose, cat, facts, present, ErasureGround::Objection),
    }
}

#[cfg(test)]
mod expiry_tests {
    use super::*;

    #[test]
    fn c3_what_was_kept_until_a_past_day_is_erased_instead() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let keep = |until: &str| PlanItem {
            purpose: PurposeId::parse("orders").unwrap(),
            category: crate::policy::CategoryId::parse("invoices").unwrap(),
            action: Action::Keep {
                ground: KeepGround::LegalObligation,
                reference: "L123-22".into(),
                until: Some(d(until)),
            },
        };
        let mut plan = Plan {
            items: vec![keep("2025-04-09"), keep("2030-01-01")],
            suppression: Vec::new(),
        };
        plan.expire_kept(d("2026-11-27"));
        assert_eq!(
            plan.items[0].action,
            Action::Erase {
                ground: ErasureGround::NoLongerNecessary
            }
        );
        assert!(matches!(plan.items[1].action, Action::Keep { .. }));
    }
}
