//! The reference company's policy (`config/policy/`, from seed/privacy-policy.txt) loads, says
//! what the privacy policy says, and drives the rights decisions the issue names.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use chrono::NaiveDate;
use rightful_core::policy::{
    ErasureRule, FieldId, KeepGround, LegalBasis, Policy, PurposeId, RecipientRole,
};
use rightful_core::retention::{Period, StartEvent};
use rightful_core::rights::{Action, ErasureGround, PurposeFacts, RequestKind, SubjectFacts, plan};
use rightful_engine::policy::load_dir;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn reference() -> Policy {
    load_dir(&root().join("config/policy")).unwrap().policy
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

const NINE: [&str; 9] = [
    "after_sales",
    "blog_comments",
    "chat",
    "commercial_newsletter",
    "inquiries",
    "orders",
    "site_administration",
    "site_technical",
    "technical_newsletter",
];

#[test]
fn all_nine_purposes_of_the_privacy_policy_are_declared_with_their_bases() {
    let p = reference();
    let ids: Vec<&str> = p.purposes.iter().map(|p| p.id.as_ref()).collect();
    assert_eq!(ids, NINE);
    let bases = |id: &str| -> Vec<LegalBasis> {
        p.purpose(id)
            .unwrap()
            .bases
            .iter()
            .map(|b| b.basis)
            .collect()
    };
    use LegalBasis::*;
    assert_eq!(bases("technical_newsletter"), [LegitimateInterest]);
    assert_eq!(bases("commercial_newsletter"), [Consent]);
    assert_eq!(bases("orders"), [Contract]);
    assert_eq!(bases("site_technical"), [LegitimateInterest]);
    assert_eq!(bases("site_administration"), [LegitimateInterest]);
    assert_eq!(bases("inquiries"), [LegitimateInterest, Contract]);
    assert_eq!(bases("after_sales"), [Contract, LegitimateInterest]);
    assert_eq!(bases("chat"), [Consent]);
    assert_eq!(bases("blog_comments"), [Consent]);
    for purpose in &p.purposes {
        assert!(
            purpose.transfers.is_empty(),
            "{}: the controller transfers nothing outside the EU",
            purpose.id
        );
        assert_eq!(
            purpose.automated_decisions, None,
            "{}: no automated decisions",
            purpose.id
        );
        assert!(
            purpose.sources.iter().all(|s| s.kind == "data_subject"),
            "{}: data sent by the subjects",
            purpose.id
        );
        for b in purpose
            .bases
            .iter()
            .filter(|b| b.basis == LegitimateInterest)
        {
            assert!(b.interest.is_some(), "{}: interest pursued", purpose.id);
        }
    }
}

#[test]
fn retention_periods_are_those_of_the_privacy_policy() {
    let p = reference();
    let period = |id: &str| p.purpose(id).unwrap().categories[0].retention.default;
    let years = |n| rightful_core::duration::CalendarDuration::years(n);
    assert_eq!(
        period("technical_newsletter"),
        Period::Until {
            event: StartEvent::Withdrawal
        }
    );
    assert_eq!(
        period("commercial_newsletter"),
        Period::Until {
            event: StartEvent::Withdrawal
        }
    );
    assert_eq!(
        period("orders"),
        Period::For {
            duration: years(10),
            from: StartEvent::EndOfContract
        }
    );
    assert_eq!(
        period("site_technical"),
        Period::For {
            duration: rightful_core::duration::CalendarDuration::months(12),
            from: StartEvent::Collection
        }
    );
    assert_eq!(
        period("site_administration"),
        Period::Until {
            event: StartEvent::EndOfRole
        }
    );
    assert_eq!(
        period("inquiries"),
        Period::For {
            duration: years(3),
            from: StartEvent::Request
        }
    );
    assert_eq!(
        period("chat"),
        Period::For {
            duration: years(3),
            from: StartEvent::Request
        }
    );
    assert_eq!(
        period("blog_comments"),
        Period::For {
            duration: years(5),
            from: StartEvent::Publication
        }
    );
    // After-sales: 5 years from the request for a customer, otherwise 3.
    let rule = &p.purpose("after_sales").unwrap().categories[0].retention;
    let events = [(StartEvent::Request, d("2021-06-01"))]
        .into_iter()
        .collect();
    let customer: BTreeSet<PurposeId> = [PurposeId::parse("orders").unwrap()].into_iter().collect();
    assert_eq!(rule.end(&customer, &events), Some(d("2026-06-01")));
    assert_eq!(rule.end(&BTreeSet::new(), &events), Some(d("2024-06-01")));
    // E3: every category of every purpose carries its own rule.
    assert!(p.purposes.iter().all(|p| {
        p.categories
            .iter()
            .all(|c| !c.retention.describe().is_empty())
    }));
}

#[test]
fn mandatory_and_optional_fields_are_exactly_those_of_the_privacy_policy() {
    let p = reference();
    let optional = |id: &str| -> BTreeSet<String> {
        p.purpose(id)
            .unwrap()
            .categories
            .iter()
            .flat_map(|c| {
                c.fields
                    .iter()
                    .filter(|f| !f.mandatory)
                    .map(|f| f.id.to_string())
            })
            .collect()
    };
    let set = |xs: &[&str]| xs.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
    // "The name of the company and the delivery address, if different, are optional."
    assert_eq!(
        optional("orders"),
        set(&["company_name", "delivery_address"])
    );
    // "For enquiries and after-sales service requests, the company name, telephone number and
    // country are optional."
    assert_eq!(
        optional("inquiries"),
        set(&["company_name", "country", "phone"])
    );
    assert_eq!(
        optional("after_sales"),
        set(&["company_name", "country", "phone"])
    );
    for other in [
        "technical_newsletter",
        "commercial_newsletter",
        "site_technical",
        "site_administration",
        "chat",
        "blog_comments",
    ] {
        assert!(
            optional(other).is_empty(),
            "{other}: everything else is compulsory"
        );
    }
    let after_sales = p.purpose("after_sales").unwrap();
    assert!(after_sales.categories.iter().any(|c| {
        c.fields
            .iter()
            .any(|f| f.id.as_ref() == "camera_serial_number")
    }));
}

#[test]
fn recipients_are_named_with_their_role() {
    let p = reference();
    let named = |id: &str| -> Vec<String> {
        p.recipients_of(p.purpose(id).unwrap())
            .map(|r| r.name.clone())
            .collect()
    };
    assert!(named("orders").iter().any(|n| n == "PayPal"));
    assert!(named("orders").iter().any(|n| n == "Carriers"));
    assert!(named("orders").iter().any(|n| n == "Banks"));
    assert!(named("site_technical").iter().any(|n| n.contains("AWS")));
    assert!(named("chat").iter().any(|n| n == "Social Intents"));
    let chat_provider = p
        .recipients
        .values()
        .find(|r| r.name == "Social Intents")
        .unwrap();
    assert_eq!(chat_provider.role, RecipientRole::Processor);
}

fn customer_with_orders() -> SubjectFacts {
    let f = |events: &[(StartEvent, &str)]| PurposeFacts {
        events: events.iter().map(|(e, s)| (*e, d(s))).collect(),
        contract_running: false,
    };
    SubjectFacts {
        purposes: [
            (
                "orders",
                f(&[
                    (StartEvent::Collection, "2019-02-01"),
                    (StartEvent::EndOfContract, "2019-03-15"),
                ]),
            ),
            (
                "commercial_newsletter",
                f(&[(StartEvent::Collection, "2018-01-01")]),
            ),
            (
                "technical_newsletter",
                f(&[(StartEvent::Collection, "2018-01-01")]),
            ),
            ("chat", f(&[(StartEvent::Request, "2024-01-10")])),
            (
                "blog_comments",
                f(&[(StartEvent::Publication, "2023-05-05")]),
            ),
            ("inquiries", f(&[(StartEvent::Request, "2024-11-02")])),
            (
                "site_technical",
                f(&[(StartEvent::Collection, "2026-11-01")]),
            ),
        ]
        .into_iter()
        .map(|(id, facts)| (PurposeId::parse(id).unwrap(), facts))
        .collect(),
    }
}

#[test]
fn c3_a_customer_with_orders_asking_for_erasure_keeps_only_the_invoices() {
    let p = reference();
    let plan = plan(&p, &RequestKind::Erasure, &customer_with_orders(), None);
    match plan.action("orders", "invoices") {
        Some(Action::Keep {
            ground: KeepGround::LegalObligation,
            reference,
            until,
        }) => {
            assert!(reference.contains("L123-22"), "{reference}");
            assert_eq!(
                *until,
                Some(d("2029-03-15")),
                "10 years from the end of the contract"
            );
        }
        other => panic!("invoices must be kept on a legal obligation, got {other:?}"),
    }
    assert_eq!(
        plan.action("orders", "identification"),
        Some(&Action::Erase {
            ground: ErasureGround::NoLongerNecessary
        })
    );
    for (purpose, category) in [
        ("commercial_newsletter", "contact"),
        ("technical_newsletter", "contact"),
        ("chat", "identification"),
        ("chat", "conversation"),
        ("blog_comments", "publication"),
        ("inquiries", "request"),
    ] {
        assert!(
            matches!(plan.action(purpose, category), Some(Action::Erase { .. })),
            "{purpose}/{category} must be erased: {:?}",
            plan.action(purpose, category)
        );
    }
    assert_eq!(
        plan.kept().count(),
        1,
        "{:#?}",
        plan.kept().collect::<Vec<_>>()
    );
    let invoices = p.purpose("orders").unwrap().category("invoices").unwrap();
    assert!(matches!(invoices.erasure, ErasureRule::Keep { .. }));
}

#[test]
fn c6_portability_is_refused_for_the_legitimate_interest_logs_with_the_reason() {
    let p = reference();
    let plan = plan(&p, &RequestKind::Portability, &customer_with_orders(), None);
    match plan.action("site_technical", "connection") {
        Some(Action::NotApplicable { reason }) => {
            assert!(
                reason.contains("legitimate interest") && reason.contains("Art. 20(1)(a)"),
                "{reason}"
            );
        }
        other => panic!("logs are not portable: {other:?}"),
    }
    assert_eq!(
        plan.action("orders", "identification"),
        Some(&Action::Export)
    );
    assert_eq!(
        plan.action("commercial_newsletter", "contact"),
        Some(&Action::Export)
    );
    assert!(matches!(
        plan.action("technical_newsletter", "contact"),
        Some(Action::NotApplicable { .. })
    ));
}

#[test]
fn c7_a_marketing_objection_always_stops_the_commercial_newsletter() {
    let p = reference();
    let scope: BTreeSet<PurposeId> = [PurposeId::parse("commercial_newsletter").unwrap()]
        .into_iter()
        .collect();
    let plan = plan(
        &p,
        &RequestKind::Objection,
        &customer_with_orders(),
        Some(&scope),
    );
    assert_eq!(
        plan.action("commercial_newsletter", "contact"),
        Some(&Action::Erase {
            ground: ErasureGround::Objection
        })
    );
    assert_eq!(
        plan.suppression,
        vec![PurposeId::parse("commercial_newsletter").unwrap()]
    );
    assert_eq!(plan.items.len(), 2, "only the scoped purpose: {plan:#?}");
    // Without scope, the technical newsletter (legitimate interest, direct marketing) stops too,
    // while the security logs are restricted pending the DPO's assessment.
    let all =
        rightful_core::rights::plan(&p, &RequestKind::Objection, &customer_with_orders(), None);
    assert!(matches!(
        all.action("technical_newsletter", "contact"),
        Some(Action::Erase { .. })
    ));
    assert!(matches!(
        all.action("site_technical", "connection"),
        Some(Action::Restrict { .. })
    ));
    assert!(matches!(
        all.action("orders", "identification"),
        Some(Action::NotApplicable { .. })
    ));
}

#[test]
fn c1_rectifying_an_email_reaches_every_purpose_that_holds_it() {
    let p = reference();
    let fields = [FieldId::parse("email").unwrap()].into_iter().collect();
    let plan = plan(
        &p,
        &RequestKind::Rectification { fields },
        &customer_with_orders(),
        None,
    );
    let purposes: BTreeSet<&str> = plan.items.iter().map(|i| i.purpose.as_ref()).collect();
    assert_eq!(
        purposes,
        [
            "blog_comments",
            "chat",
            "commercial_newsletter",
            "inquiries",
            "orders",
            "technical_newsletter"
        ]
        .into_iter()
        .collect()
    );
}

#[test]
fn a_second_different_company_policy_loads_the_same_way() {
    let clinic = load_dir(&root().join("tests/fixtures/policies/clinic"))
        .unwrap()
        .policy;
    assert_eq!(
        clinic.controller.party.name,
        "Clinique vétérinaire des Pentes"
    );
    let ids: Vec<&str> = clinic.purposes.iter().map(|p| p.id.as_ref()).collect();
    assert_eq!(ids, ["patient_records", "reminders", "waiting_room_camera"]);
    let records = clinic.purpose("patient_records").unwrap();
    assert!(records.has_basis(LegalBasis::LegalObligation));
    let mut out = Vec::new();
    rightful_engine::register::export(
        &clinic,
        rightful_engine::register::Format::Csv,
        "https://x",
        &mut out,
    )
    .unwrap();
    assert_eq!(String::from_utf8(out).unwrap().lines().count(), 4);
}

/// No purpose, period, table or company name of the reference policy may be hard-coded in Rust:
/// scan every crate's non-test source for them as string literals.
#[test]
fn no_reference_company_fact_is_hard_coded_in_rust() {
    let p = reference();
    let mut needles: Vec<String> = p.purposes.iter().map(|p| format!("\"{}\"", p.id)).collect();
    needles.push(p.controller.party.name.clone());
    needles.extend(
        p.recipients
            .values()
            .map(|r| r.name.clone())
            .filter(|n| n.len() > 6),
    );
    for phrase in [
        "\"10 years\"",
        "\"12 months\"",
        "\"5 years\"",
        "\"3 years\"",
        "L123-22",
        "813 731 262",
    ] {
        needles.push(phrase.into());
    }
    let mut offenders = Vec::new();
    let mut stack = vec![root().join("crates")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if path.is_dir() {
                if name != "tests" && name != "target" {
                    stack.push(path);
                }
            } else if name.ends_with(".rs") && name != "tests.rs" {
                let text = std::fs::read_to_string(&path).unwrap();
                // Code only: comments may cite the law, tests may use the reference policy.
                let code: String = text
                    .split("#[cfg(test)]")
                    .next()
                    .unwrap_or("")
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("//"))
                    .collect::<Vec<_>>()
                    .join("\n");
                for n in &needles {
                    if code.contains(n.as_str()) {
                        offenders.push(format!("{}: {n}", path.display()));
                    }
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "reference-company facts in Rust code: {offenders:#?}"
    );
}
