//! Register export (checklist E1–E3, G) from the reference policy.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use rightful_core::register::{CSV_COLUMNS, KNOWN_DPV_TERMS, PREFIXES, used_terms};
use rightful_engine::register::{Format, RegisterError, export};
use std::path::Path;

fn reference() -> rightful_core::Policy {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/policy");
    rightful_engine::policy::load_dir(&dir).unwrap().policy
}

fn exported(format: Format) -> String {
    let mut out = Vec::new();
    export(
        &reference(),
        format,
        "https://www.example.test/privacy/register",
        &mut out,
    )
    .unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn e2_csv_has_one_row_per_purpose_in_the_cnil_column_order() {
    let text = exported(Format::Csv);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(headers, CSV_COLUMNS);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 9);
    let col = |name: &str| CSV_COLUMNS.iter().position(|c| *c == name).unwrap();
    let orders = rows.iter().find(|r| &r[0] == "orders").unwrap();
    assert!(orders[col("Base légale")].contains("Art. 6(1)(b)"));
    assert!(orders[col("Organismes externes")].contains("PayPal"));
    assert!(orders[col("Sous-traitants")].contains("Amazon Web Services"));
    assert_eq!(
        &orders[col("Transferts hors UE")],
        "Aucun transfert hors UE"
    );
    assert_eq!(&orders[col("Prise de décision automatisée")], "Aucune");
    assert!(orders[col("Responsable du traitement")].contains("Montbonnot-Saint-Martin"));
    // E3: the retention is stated per data category.
    let identity = &orders[col(
        "Données : État-civil, identité, données d'identification, images (description / délai d'effacement)",
    )];
    assert!(
        identity.contains("Company name (optional)")
            && identity.contains("10 years from the end of the contract"),
        "{identity}"
    );
    let logs = rows.iter().find(|r| &r[0] == "site_technical").unwrap();
    assert!(
        logs[col("Données : Données de connexion (description / délai d'effacement)")]
            .contains("12 months from collection")
    );
    let after_sales = rows.iter().find(|r| &r[0] == "after_sales").unwrap();
    assert!(after_sales[col("Données : Autres catégories (description / délai d'effacement)")]
        .contains("5 years from the request if the person is a customer; otherwise 3 years from the request"));
    let chat = rows.iter().find(|r| &r[0] == "chat").unwrap();
    assert!(chat[col("Sous-traitants")].contains("Social Intents"));
    for r in &rows {
        assert_eq!(&r[col("Données sensibles")], "non");
        assert!(!r[col("Catégories de personnes concernées")].is_empty());
    }
}

#[test]
fn json_lists_every_purpose_with_its_rights() {
    let doc: serde_json::Value = serde_json::from_str(&exported(Format::Json)).unwrap();
    let purposes = doc["purposes"].as_array().unwrap();
    assert_eq!(purposes.len(), 9);
    let logs = purposes
        .iter()
        .find(|p| p["id"] == "site_technical")
        .unwrap();
    let portability = logs["rights"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["right"] == "portability")
        .unwrap();
    assert_eq!(portability["applies"], "no");
    assert_eq!(
        doc["controller"]["supervisory_authority"]["complaint_url"],
        "https://www.cnil.fr/fr/webform/adresser-une-plainte"
    );
}

#[test]
fn g_jsonld_uses_only_pinned_dpv_terms_and_defines_its_local_ones() {
    let doc: serde_json::Value = serde_json::from_str(&exported(Format::JsonLd)).unwrap();
    let context = doc["@context"].as_object().unwrap();
    for (prefix, _) in PREFIXES {
        assert!(context.contains_key(prefix), "prefix {prefix}");
    }
    let graph = doc["@graph"].as_array().unwrap();
    // A node is defined where an object carries its @id and at least one property.
    fn defined_ids(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(id) = m.get("@id").and_then(|i| i.as_str())
                    && m.len() > 1
                {
                    out.push(id.to_owned());
                }
                m.values().for_each(|x| defined_ids(x, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| defined_ids(x, out)),
            _ => {}
        }
    }
    let mut defined = Vec::new();
    defined_ids(&doc["@graph"], &mut defined);
    for term in used_terms(&doc) {
        let (prefix, _) = term
            .split_once(':')
            .unwrap_or_else(|| panic!("`{term}` is not a compact IRI"));
        assert!(
            context.contains_key(prefix),
            "`{term}` uses an undeclared prefix"
        );
        match prefix {
            "ex" => assert!(
                defined.contains(&term),
                "local term `{term}` has no node in the graph"
            ),
            "dpv" | "pd" | "eu-gdpr" => assert!(
                KNOWN_DPV_TERMS.contains(&term.as_str()),
                "`{term}` is not in the pinned DPV release"
            ),
            _ => {}
        }
    }
    let processes: Vec<&serde_json::Value> = graph
        .iter()
        .filter(|n| n["@type"] == "dpv:Process")
        .collect();
    assert_eq!(processes.len(), 9);
    // The SHACL shape of checklist G, by hand: purpose, legal basis, personal data, data subject
    // and storage condition on every process.
    for p in processes {
        for key in [
            "dpv:hasPurpose",
            "dpv:hasLegalBasis",
            "dpv:hasPersonalData",
            "dpv:hasDataSubject",
        ] {
            assert!(
                !p[key].as_array().unwrap().is_empty(),
                "{} lacks {key}",
                p["@id"]
            );
        }
        for data in p["dpv:hasPersonalData"].as_array().unwrap() {
            assert_eq!(
                data["dpv:hasStorageCondition"]["@type"],
                "dpv:StorageDuration"
            );
        }
    }
    let orders = graph
        .iter()
        .find(|n| n["@id"] == "ex:process-orders")
        .unwrap();
    let bases: Vec<&str> = orders["dpv:hasLegalBasis"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["@id"].as_str().unwrap())
        .collect();
    assert_eq!(bases, ["dpv:Contract", "eu-gdpr:A6-1-b"]);
    let duration = &orders["dpv:hasPersonalData"][0]["dpv:hasStorageCondition"]["dpv:hasDuration"]
        ["rdf:value"];
    assert_eq!(duration["@value"], "P10Y");
}

#[test]
fn e1_an_empty_mandatory_field_stops_the_export() {
    let mut policy = reference();
    policy.purposes[0].recipients.clear();
    policy.controller.dpo.email.clear();
    policy.controller.dpo.phone.clear();
    let mut out = Vec::new();
    match export(&policy, Format::Csv, "x", &mut out) {
        Err(RegisterError::Incomplete(errors)) => {
            assert!(
                errors.iter().any(|e| e.contains("Art. 30(1)(d)")),
                "{errors:?}"
            );
            assert!(errors.iter().any(|e| e.contains("DPO")), "{errors:?}");
        }
        other => panic!("expected an incomplete register, got {other:?}"),
    }
    assert!(
        out.is_empty(),
        "nothing is written when the register is incomplete"
    );
}

#[test]
fn an_unknown_format_is_a_clear_error() {
    let err = "xlsx".parse::<Format>().unwrap_err().to_string();
    assert!(
        err.contains("xlsx") && err.contains("csv, json or jsonld"),
        "{err}"
    );
}
