use super::*;
use crate::retention::StartEvent;
use crate::rights::{
    Action, Applicability, ErasureGround, PurposeFacts, RequestKind, Right, SubjectFacts,
    applicability, plan,
};

pub(crate) const CONTROLLER: &str = r#"
[controller]
name = "Boulangerie Test"
email = "contact@example.test"
[dpo]
name = "Jeanne Test"
email = "dpo@example.test"
[supervisory_authority]
name = "CNIL"
complaint_url = "https://www.cnil.fr/fr/plaintes"
[[recipients]]
id = "staff"
name = "Staff"
role = "internal"
"#;

pub(crate) const LOYALTY: &str = r#"
id = "loyalty"
name = "Loyalty card"
description = "Loyalty points for regular customers."
recipients = ["staff"]
transfers = []
automated_decisions = "none"
withdrawal = "Ask at the counter."
[[legal_basis]]
basis = "consent"
[[data_subjects]]
category = "Customers"
[[sources]]
kind = "data_subject"
[retention]
until = "withdrawal"
[[data]]
id = "card"
name = "Card"
cnil_category = "identity"
fields = [{ id = "email", mandatory = true }, { id = "birthday", mandatory = false }]
[[data]]
id = "score"
name = "Customer score"
cnil_category = "economic_financial"
origin = "inferred"
fields = [{ id = "score", mandatory = true }]
"#;

pub(crate) const SALES: &str = r#"
id = "sales"
name = "Sales"
description = "Sales and invoices."
recipients = ["staff"]
transfers = []
automated_decisions = "none"
[[legal_basis]]
basis = "contract"
[[data_subjects]]
category = "Customers"
[[sources]]
kind = "data_subject"
[retention]
keep_for = "10 years"
from = "end_of_contract"
[[data]]
id = "order"
name = "Order"
cnil_category = "economic_financial"
fields = [{ id = "email", mandatory = true }]
[[data]]
id = "invoice"
name = "Invoice"
cnil_category = "economic_financial"
fields = [{ id = "amount", mandatory = true }]
[data.erasure]
action = "keep"
ground = "legal_obligation"
reference = "Code de commerce L123-22"
"#;

pub(crate) const CCTV: &str = r#"
id = "cctv"
name = "Video surveillance"
description = "Security of the shop."
recipients = ["staff"]
transfers = []
automated_decisions = "none"
[[legal_basis]]
basis = "legitimate_interest"
interest = "Security of goods and people."
[[data_subjects]]
category = "Visitors"
[[sources]]
kind = "data_subject"
[retention]
keep_for = "30 days"
from = "collection"
[[retention.cases]]
if_subject_in = "sales"
keep_for = "2 months"
from = "collection"
[[data]]
id = "images"
name = "Images"
cnil_category = "identity"
origin = "observed"
fields = [{ id = "image", mandatory = true }]
"#;

fn src(path: &str, text: &str) -> Source {
    Source {
        path: path.into(),
        text: text.into(),
    }
}

pub(crate) fn bakery() -> Policy {
    Policy::load(
        &src("controller.toml", CONTROLLER),
        &[
            src("purposes/loyalty.toml", LOYALTY),
            src("purposes/sales.toml", SALES),
            src("purposes/cctv.toml", CCTV),
        ],
    )
    .unwrap()
}

fn errors(controller: &str, purposes: &[(&str, &str)]) -> Vec<PolicyError> {
    let sources: Vec<Source> = purposes.iter().map(|(p, t)| src(p, t)).collect();
    Policy::load(&src("controller.toml", controller), &sources)
        .unwrap_err()
        .0
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[test]
fn a_small_policy_loads_with_purposes_in_id_order() {
    let p = bakery();
    let ids: Vec<&str> = p.purposes.iter().map(|p| p.id.as_ref()).collect();
    assert_eq!(ids, ["cctv", "loyalty", "sales"]);
    let loyalty = p.purpose("loyalty").unwrap();
    let card = loyalty.category("card").unwrap();
    assert!(card.fields[0].mandatory);
    assert!(!card.fields[1].mandatory);
}

#[test]
fn every_error_names_its_file_purpose_and_field_and_all_are_reported() {
    let broken = LOYALTY
        .replace("basis = \"consent\"", "basis = \"gut_feeling\"")
        .replace(
            "recipients = [\"staff\"]",
            "recipients = [\"staff\", \"nsa\"]",
        );
    let no_withdrawal = LOYALTY.replace("withdrawal = \"Ask at the counter.\"", "");
    let no_period = SALES.replace("keep_for = \"10 years\"\nfrom = \"end_of_contract\"", "");
    let errs = errors(
        CONTROLLER,
        &[
            ("purposes/loyalty.toml", &broken),
            (
                "purposes/chat.toml",
                &no_withdrawal.replace("\"loyalty\"", "\"chat\""),
            ),
            ("purposes/sales.toml", &no_period),
        ],
    );
    let has = |file: &str, purpose: &str, field: &str, needle: &str| {
        errs.iter().any(|e| {
            e.file == file && e.purpose == purpose && e.field == field && e.message.contains(needle)
        })
    };
    assert!(
        has(
            "purposes/loyalty.toml",
            "loyalty",
            "legal_basis[0].basis",
            "unknown legal basis `gut_feeling`"
        ),
        "{errs:#?}"
    );
    assert!(
        has(
            "purposes/loyalty.toml",
            "loyalty",
            "recipients[1]",
            "`nsa` is not declared"
        ),
        "{errs:#?}"
    );
    assert!(
        has("purposes/chat.toml", "chat", "withdrawal", "Art. 7(3)"),
        "{errs:#?}"
    );
    assert!(
        has(
            "purposes/sales.toml",
            "sales",
            "retention.keep_for",
            "needs a period"
        ),
        "{errs:#?}"
    );
    assert_eq!(errs.len(), 4, "{errs:#?}");
}

#[test]
fn syntax_and_unknown_field_errors_name_the_line_and_purpose() {
    let typo = SALES.replace("automated_decisions", "automatic_decisions");
    let errs = errors(CONTROLLER, &[("purposes/sales.toml", &typo)]);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert_eq!(errs[0].purpose, "sales");
    // Issue 13 item 5: the line of the unknown key itself, not the one before it.
    let line = typo
        .lines()
        .position(|l| l.starts_with("automatic_decisions"))
        .unwrap()
        + 1;
    assert_eq!(errs[0].field, format!("line {line}"), "{errs:#?}");
    assert!(errs[0].message.contains("automatic_decisions"), "{errs:#?}");
}

#[test]
fn missing_art30_facts_and_unknown_dpv_terms_are_errors() {
    let bare = CCTV
        .replace("transfers = []\n", "")
        .replace("automated_decisions = \"none\"\n", "")
        .replace("[[data_subjects]]\ncategory = \"Visitors\"\n", "")
        .replace(
            "fields = [{ id = \"image\", mandatory = true }]",
            "fields = [{ id = \"image\" }]\ndpv = [\"pd:Face\"]",
        )
        .replace("if_subject_in = \"sales\"", "if_subject_in = \"payroll\"");
    let errs = errors(
        CONTROLLER,
        &[
            ("purposes/cctv.toml", &bare),
            ("purposes/sales.toml", SALES),
        ],
    );
    let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    for f in [
        "transfers",
        "automated_decisions",
        "data_subjects",
        "data.images.fields.image.mandatory",
        "retention.cases[0]",
    ] {
        assert!(fields.contains(&f), "{f} missing in {errs:#?}");
    }
    let dpv = PolicyErrors(errors(
        CONTROLLER,
        &[
            (
                "purposes/cctv.toml",
                &CCTV.replace(
                    "origin = \"observed\"",
                    "origin = \"observed\"\ndpv = [\"pd:Face\"]",
                ),
            ),
            ("purposes/sales.toml", SALES),
        ],
    ));
    assert!(
        dpv.to_string()
            .contains("`pd:Face` is not a known DPV term"),
        "{dpv}"
    );
}

#[test]
fn legitimate_interest_needs_its_interest_and_duplicates_are_refused() {
    let no_interest = CCTV.replace("interest = \"Security of goods and people.\"", "");
    let errs = errors(
        CONTROLLER,
        &[
            ("a.toml", &no_interest),
            ("b.toml", SALES),
            ("c.toml", SALES),
        ],
    );
    assert!(
        errs.iter().any(|e| e.field == "legal_basis[0].interest"),
        "{errs:#?}"
    );
    assert!(
        errs.iter().any(|e| e.file == "c.toml" && e.field == "id"),
        "{errs:#?}"
    );
}

#[test]
fn the_controller_file_is_checked_too() {
    let bad = CONTROLLER
        .replace("https://www.cnil.fr/fr/plaintes", "cnil.fr")
        .replace("role = \"internal\"", "role = \"friend\"");
    let errs = errors(&bad, &[("sales.toml", SALES)]);
    assert!(
        errs.iter()
            .any(|e| e.field == "supervisory_authority.complaint_url"),
        "{errs:#?}"
    );
    assert!(
        errs.iter().any(|e| e.field == "recipients[0].role"),
        "{errs:#?}"
    );
}

#[test]
fn c11_rights_follow_the_legal_basis() {
    let p = bakery();
    let loyalty = p.purpose("loyalty").unwrap();
    let cctv = p.purpose("cctv").unwrap();
    let sales = p.purpose("sales").unwrap();
    assert_eq!(
        applicability(loyalty, Right::WithdrawConsent),
        Applicability::Yes
    );
    assert_eq!(
        applicability(loyalty, Right::Portability),
        Applicability::Yes
    );
    assert!(
        matches!(applicability(loyalty, Right::Objection), Applicability::No(r) if r.contains("Art. 7(3)"))
    );
    assert_eq!(applicability(cctv, Right::Objection), Applicability::Yes);
    assert!(
        matches!(applicability(cctv, Right::Portability), Applicability::No(r) if r.contains("Art. 20(1)(a)"))
    );
    assert!(matches!(
        applicability(sales, Right::WithdrawConsent),
        Applicability::No(_)
    ));
    assert_eq!(applicability(sales, Right::Portability), Applicability::Yes);
    assert!(matches!(
        applicability(sales, Right::MarketingObjection),
        Applicability::No(_)
    ));
}

type FactRow<'a> = (&'a str, &'a [(StartEvent, &'a str)], bool);

fn facts(entries: &[FactRow<'_>]) -> SubjectFacts {
    SubjectFacts {
        purposes: entries
            .iter()
            .map(|(id, events, running)| {
                (
                    PurposeId::parse(id).unwrap(),
                    PurposeFacts {
                        events: events.iter().map(|(e, day)| (*e, d(day))).collect(),
                        contract_running: *running,
                    },
                )
            })
            .collect(),
    }
}

#[test]
fn c3_erasure_keeps_invoices_per_item_and_erases_the_rest() {
    let p = bakery();
    let f = facts(&[
        ("sales", &[(StartEvent::EndOfContract, "2024-05-01")], false),
        ("loyalty", &[(StartEvent::Collection, "2023-01-01")], false),
    ]);
    let plan = plan(&p, &RequestKind::Erasure, &f, None);
    assert_eq!(
        plan.action("loyalty", "card"),
        Some(&Action::Erase {
            ground: ErasureGround::ConsentWithdrawn
        })
    );
    assert_eq!(
        plan.action("sales", "order"),
        Some(&Action::Erase {
            ground: ErasureGround::NoLongerNecessary
        })
    );
    assert_eq!(
        plan.action("sales", "invoice"),
        Some(&Action::Keep {
            ground: KeepGround::LegalObligation,
            reference: "Code de commerce L123-22".into(),
            until: Some(d("2034-05-01"))
        })
    );
    assert_eq!(
        plan.action("cctv", "images"),
        None,
        "the subject is not in cctv"
    );
    assert_eq!(plan.kept().count(), 1);
}

#[test]
fn a_running_contract_keeps_the_order_data() {
    let p = bakery();
    let f = facts(&[("sales", &[], true)]);
    let plan = plan(&p, &RequestKind::Erasure, &f, None);
    assert!(matches!(
        plan.action("sales", "order"),
        Some(Action::Keep {
            ground: KeepGround::ContractInProgress,
            until: None,
            ..
        })
    ));
}

#[test]
fn c6_portability_is_refused_for_legitimate_interest_and_for_inferred_data() {
    let p = bakery();
    let f = facts(&[("loyalty", &[], false), ("cctv", &[], false)]);
    let plan = plan(&p, &RequestKind::Portability, &f, None);
    assert_eq!(plan.action("loyalty", "card"), Some(&Action::Export));
    assert!(
        matches!(plan.action("loyalty", "score"), Some(Action::NotApplicable { reason }) if reason.contains("WP242"))
    );
    assert!(
        matches!(plan.action("cctv", "images"), Some(Action::NotApplicable { reason }) if reason.contains("legitimate interest"))
    );
}

#[test]
fn c7_objection_restricts_legitimate_interest_until_assessed_and_c9_withdrawal_stops_consent() {
    let p = bakery();
    let f = facts(&[
        ("loyalty", &[], false),
        ("cctv", &[], false),
        ("sales", &[], false),
    ]);
    let obj = plan(&p, &RequestKind::Objection, &f, None);
    assert!(matches!(
        obj.action("cctv", "images"),
        Some(Action::Restrict { .. })
    ));
    assert!(matches!(
        obj.action("loyalty", "card"),
        Some(Action::NotApplicable { .. })
    ));
    assert!(obj.suppression.is_empty());
    let w = plan(&p, &RequestKind::WithdrawConsent, &f, None);
    assert_eq!(
        w.action("loyalty", "card"),
        Some(&Action::Erase {
            ground: ErasureGround::ConsentWithdrawn
        })
    );
    assert!(matches!(
        w.action("sales", "order"),
        Some(Action::NotApplicable { .. })
    ));
}

#[test]
fn c1_rectification_touches_only_categories_holding_the_field() {
    let p = bakery();
    let f = facts(&[("loyalty", &[], false), ("sales", &[], false)]);
    let fields = [FieldId::parse("email").unwrap()].into_iter().collect();
    let plan = plan(&p, &RequestKind::Rectification { fields }, &f, None);
    assert_eq!(plan.items.len(), 2, "{plan:#?}");
    assert!(plan.action("sales", "invoice").is_none());
}

#[test]
fn conditional_retention_depends_on_another_purpose() {
    let p = bakery();
    let rule = &p
        .purpose("cctv")
        .unwrap()
        .category("images")
        .unwrap()
        .retention;
    let events = [(StartEvent::Collection, d("2025-01-10"))]
        .into_iter()
        .collect();
    let customer = [PurposeId::parse("sales").unwrap()].into_iter().collect();
    assert_eq!(rule.end(&customer, &events), Some(d("2025-03-10")));
    assert_eq!(
        rule.end(&Default::default(), &events),
        Some(d("2025-02-09"))
    );
}

#[test]
fn f1_an_archive_comes_before_the_end_of_a_period_from_the_same_event() {
    let archived = SALES.replace(
        "from = \"end_of_contract\"\n",
        "from = \"end_of_contract\"\narchive_after = \"2 years\"\n",
    );
    let p = Policy::load(
        &src("controller.toml", CONTROLLER),
        &[src("purposes/sales.toml", &archived)],
    )
    .unwrap();
    let rule = &p
        .purpose("sales")
        .unwrap()
        .category("order")
        .unwrap()
        .retention;
    assert_eq!(
        rule.archive_period().unwrap().cutoff(d("2026-03-01")),
        Some(d("2024-02-29"))
    );
    assert!(rule.describe().contains("intermediate archive"));
    for bad in ["\"12 years\"", "\"soon\""] {
        let text = SALES.replace(
            "from = \"end_of_contract\"\n",
            &format!("from = \"end_of_contract\"\narchive_after = {bad}\n"),
        );
        let errs = errors(CONTROLLER, &[("purposes/sales.toml", &text)]);
        assert!(
            errs.iter().any(|e| e.field == "retention.archive_after"),
            "{errs:?}"
        );
    }
    let until = LOYALTY.replace(
        "until = \"withdrawal\"\n",
        "until = \"withdrawal\"\narchive_after = \"1 year\"\n",
    );
    let errs = errors(CONTROLLER, &[("purposes/loyalty.toml", &until)]);
    assert!(
        errs.iter().any(|e| e.field == "retention.archive_after"),
        "an `until` rule has no end to archive before: {errs:?}"
    );
}
