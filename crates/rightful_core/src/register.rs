//! The register of processing activities (Art. 30(1); checklist E1–E5, G), derived from the same
//! [`Policy`] the engine enforces: CSV rows in the order of the CNIL register template, a JSON
//! document, and JSON-LD using the W3C Data Privacy Vocabulary (DPV 2.x).

use crate::policy::{CnilCategory, LegalBasis, Policy, Purpose, RecipientRole};
use crate::retention::Period;
use crate::rights::{Applicability, rights_matrix};
use serde_json::{Value, json};

/// The CSV columns, one row per processing activity, in the order of the CNIL template's blocks:
/// overview, actors, purposes (+ legal basis, E4), security measures, data categories, sensitive
/// data, data subjects, recipients, transfers (+ source and automated decisions, E4).
pub const CSV_COLUMNS: [&str; 36] = [
    "N° / REF",
    "Nom / sigle du traitement",
    "Date de création",
    "Dernière mise à jour",
    "Finalité principale",
    "Données sensibles",
    "Responsable du traitement",
    "Délégué à la protection des données",
    "Représentant",
    "Responsable(s) conjoint(s)",
    "Sous-finalités",
    "Base légale",
    "Intérêt légitime poursuivi",
    "Mesures de sécurité : Contrôle d'accès des utilisateurs",
    "Mesures de sécurité : Mesures de traçabilité",
    "Mesures de sécurité : Mesures de protection des logiciels",
    "Mesures de sécurité : Sauvegarde des données",
    "Mesures de sécurité : Chiffrement des données",
    "Mesures de sécurité : Contrôle des sous-traitants",
    "Mesures de sécurité : Autres mesures",
    "Données : État-civil, identité, données d'identification, images (description / délai d'effacement)",
    "Données : Vie personnelle (description / délai d'effacement)",
    "Données : Vie professionnelle (description / délai d'effacement)",
    "Données : Informations d'ordre économique et financier (description / délai d'effacement)",
    "Données : Données de connexion (description / délai d'effacement)",
    "Données : Données de localisation (description / délai d'effacement)",
    "Données : Internet (description / délai d'effacement)",
    "Données : Autres catégories (description / délai d'effacement)",
    "Données sensibles (description / délai d'effacement)",
    "Catégories de personnes concernées",
    "Destinataires internes",
    "Organismes externes",
    "Sous-traitants",
    "Transferts hors UE",
    "Source des données",
    "Prise de décision automatisée",
];

/// DPV 2.x terms the exports and policies may use, checked against the w3c/dpv sources
/// (modules `purposes`, `entities*`, `legal_basis`, `personal_data`, `processing_context`,
/// `TOM`, `technical_measures`, `organisational_measures`, `rights`, `pd`, `legal/eu/gdpr`).
/// Policies may add local `ex:` terms declared in `[dpv_extensions]`.
pub const KNOWN_DPV_TERMS: &[&str] = &[
    // Processes, entities and properties.
    "dpv:ROPA",
    "dpv:Process",
    "dpv:DataController",
    "dpv:DataProtectionOfficer",
    "dpv:DataProcessor",
    "dpv:ThirdParty",
    "dpv:Recipient",
    "dpv:DataProtectionAuthority",
    "dpv:Representative",
    "dpv:LegalEntity",
    "dpv:StorageDuration",
    "dpv:StorageDeletion",
    "dpv:TemporalDuration",
    "dpv:UntilEventDuration",
    "dpv:hasPurpose",
    "dpv:hasPersonalData",
    "dpv:hasDataSubject",
    "dpv:hasLegalBasis",
    "dpv:hasRecipient",
    "dpv:hasStorageCondition",
    "dpv:hasTechnicalOrganisationalMeasure",
    "dpv:hasDataSource",
    "dpv:hasDataController",
    "dpv:hasDataProtectionOfficer",
    "dpv:hasRepresentative",
    "dpv:hasName",
    "dpv:hasAddress",
    "dpv:hasContact",
    "dpv:hasDuration",
    "dpv:hasRight",
    "dpv:hasThirdCountry",
    "dpv:DataSubjectDataSource",
    "dpv:ThirdPartyDataSource",
    "dpv:PersonalData",
    "dpv:DataSubject",
    // Legal bases.
    "dpv:Consent",
    "dpv:Contract",
    "dpv:LegalObligation",
    "dpv:LegitimateInterest",
    "dpv:LegitimateInterestOfController",
    "dpv:VitalInterest",
    "dpv:PublicInterest",
    "dpv:OfficialAuthorityOfController",
    "eu-gdpr:A6-1-a",
    "eu-gdpr:A6-1-b",
    "eu-gdpr:A6-1-c",
    "eu-gdpr:A6-1-d",
    "eu-gdpr:A6-1-e",
    "eu-gdpr:A6-1-f",
    // Purposes.
    "dpv:DirectMarketing",
    "dpv:Marketing",
    "dpv:CustomerOrderManagement",
    "dpv:PaymentManagement",
    "dpv:DeliveryOfGoods",
    "dpv:FulfilmentOfContractualObligation",
    "dpv:EnforceSecurity",
    "dpv:MisusePreventionAndDetection",
    "dpv:EnforceAccessControl",
    "dpv:IdentityAuthentication",
    "dpv:AccountManagement",
    "dpv:CommunicationManagement",
    "dpv:CustomerRelationshipManagement",
    "dpv:MemberPartnerManagement",
    "dpv:CustomerCare",
    "dpv:CommunicationForCustomerCare",
    "dpv:CustomerClaimsManagement",
    "dpv:LegalCompliance",
    "dpv:RecordManagement",
    "dpv:ServiceProvision",
    // Data subjects.
    "dpv:Customer",
    "dpv:Consumer",
    "dpv:Subscriber",
    "dpv:Visitor",
    "dpv:User",
    "dpv:Employee",
    "dpv:Client",
    // Personal data.
    "pd:Name",
    "pd:EmailAddress",
    "pd:TelephoneNumber",
    "pd:PhysicalAddress",
    "pd:Contact",
    "pd:IPAddress",
    "pd:UserAgent",
    "pd:BrowsingBehavior",
    "pd:Username",
    "pd:Password",
    "pd:AuthenticationHistory",
    "pd:Purchase",
    "pd:Transaction",
    "pd:Communication",
    "pd:Opinion",
    "pd:Identifier",
    "pd:Country",
    "pd:Job",
    "pd:FinancialAccount",
    "pd:PurchasesAndSpendingHabit",
    "pd:Identifying",
    "dpv:ProvidedPersonalData",
    "dpv:ObservedPersonalData",
    "dpv:DerivedPersonalData",
    "dpv:InferredPersonalData",
    "dpv:SpecialCategoryPersonalData",
    // Measures.
    "dpv:AccessControlMethod",
    "dpv:LoggingPolicy",
    "dpv:Encryption",
    "dpv:EncryptionInTransfer",
    "dpv:EncryptionAtRest",
    "dpv:DataBackupProtocols",
    "dpv:ThirdPartySecurityProcedures",
    "dpv:SecurityProcedure",
    "dpv:OrganisationalMeasure",
    "dpv:TechnicalMeasure",
    // Rights.
    "eu-gdpr:A15",
    "eu-gdpr:A16",
    "eu-gdpr:A17",
    "eu-gdpr:A18",
    "eu-gdpr:A20",
    "eu-gdpr:A21",
    "eu-gdpr:A7-3",
    "eu-gdpr:A77",
];

/// The JSON-LD prefixes.
pub const PREFIXES: [(&str, &str); 9] = [
    ("dpv", "https://w3id.org/dpv#"),
    ("pd", "https://w3id.org/dpv/pd#"),
    ("eu-gdpr", "https://w3id.org/dpv/legal/eu/gdpr#"),
    ("legal-fr", "https://w3id.org/dpv/legal/fr#"),
    ("dct", "http://purl.org/dc/terms/"),
    ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
    ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
    ("ex", ""),
];

/// What the Art. 30(1) check found: errors block the export (a)–(e), warnings do not (f)–(g).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Art30Report {
    /// Missing mandatory fields, each naming the purpose and the point of Art. 30(1).
    pub errors: Vec<String>,
    /// Missing "where possible" fields.
    pub warnings: Vec<String>,
}

/// E1: checks every Art. 30(1)(a)–(e) field is filled for every activity; warns on (f)–(g).
pub fn check(policy: &Policy) -> Art30Report {
    let mut r = Art30Report::default();
    let c = &policy.controller;
    if c.party.name.trim().is_empty() {
        r.errors
            .push("controller: name is empty (Art. 30(1)(a))".into());
    }
    if c.party.email.is_empty() && c.party.phone.is_empty() && c.party.address.city.is_empty() {
        r.errors
            .push("controller: no contact details (Art. 30(1)(a))".into());
    }
    if c.dpo.name.trim().is_empty() || (c.dpo.email.is_empty() && c.dpo.phone.is_empty()) {
        r.errors
            .push("controller: DPO name or contact is empty (Art. 30(1)(a))".into());
    }
    if policy.purposes.is_empty() {
        r.errors
            .push("no processing activity is declared (Art. 30(1)(b))".into());
    }
    for p in &policy.purposes {
        let id = &p.id;
        if p.description.trim().is_empty() {
            r.errors.push(format!(
                "{id}: purpose description is empty (Art. 30(1)(b))"
            ));
        }
        if p.data_subjects.is_empty() {
            r.errors.push(format!(
                "{id}: no category of data subjects (Art. 30(1)(c))"
            ));
        }
        if p.categories.is_empty() {
            r.errors.push(format!(
                "{id}: no category of personal data (Art. 30(1)(c))"
            ));
        }
        if p.recipients.is_empty() {
            r.errors
                .push(format!("{id}: no recipients (Art. 30(1)(d))"));
        }
        if p.transfers
            .iter()
            .any(|t| t.country.trim().is_empty() || t.safeguard.trim().is_empty())
        {
            r.errors.push(format!(
                "{id}: a transfer lacks its country or safeguard (Art. 30(1)(e))"
            ));
        }
        if p.security
            .entries()
            .iter()
            .all(|(_, _, text)| text.is_none())
        {
            r.warnings.push(format!(
                "{id}: no security measure described (Art. 30(1)(g))"
            ));
        }
    }
    r
}

fn joined<I: IntoIterator<Item = String>>(items: I) -> String {
    items
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}

fn bases_text(p: &Purpose) -> String {
    joined(p.bases.iter().map(|b| {
        let base = format!("{} ({})", b.basis.label(), b.basis.article());
        if b.case.is_empty() {
            base
        } else {
            format!("{base}: {}", b.case)
        }
    }))
}

fn category_cell(p: &Purpose, cnil: CnilCategory) -> String {
    joined(
        p.categories
            .iter()
            .filter(|c| c.cnil == cnil && c.sensitive.is_none())
            .map(|c| {
                let fields: Vec<String> = c
                    .fields
                    .iter()
                    .map(|f| {
                        if f.mandatory {
                            f.name.clone()
                        } else {
                            format!("{} (optional)", f.name)
                        }
                    })
                    .collect();
                format!(
                    "{}: {} — {}",
                    c.name,
                    fields.join(", "),
                    c.retention.describe()
                )
            }),
    )
}

fn recipients_cell(policy: &Policy, p: &Purpose, roles: &[RecipientRole]) -> String {
    joined(
        policy
            .recipients_of(p)
            .filter(|r| roles.contains(&r.role))
            .map(|r| {
                if r.description.is_empty() {
                    r.name.clone()
                } else {
                    format!("{} ({})", r.name, r.description)
                }
            }),
    )
}

/// One CSV row per purpose, in [`CSV_COLUMNS`] order.
pub fn csv_rows(policy: &Policy) -> Vec<Vec<String>> {
    let c = &policy.controller;
    policy
        .purposes
        .iter()
        .map(|p| {
            let sensitive: Vec<String> = p
                .categories
                .iter()
                .filter_map(|c| {
                    c.sensitive
                        .as_ref()
                        .map(|s| format!("{}: {s} — {}", c.name, c.retention.describe()))
                })
                .collect();
            let mut row = vec![
                p.id.to_string(),
                p.name.clone(),
                p.created.map(|d| d.to_string()).unwrap_or_default(),
                p.updated.map(|d| d.to_string()).unwrap_or_default(),
                p.description.clone(),
                if sensitive.is_empty() {
                    "non".into()
                } else {
                    "oui".into()
                },
                c.party.summary(),
                c.dpo.summary(),
                c.representative
                    .as_ref()
                    .map(|r| r.summary())
                    .unwrap_or_default(),
                joined(c.joint_controllers.iter().map(|j| j.summary())),
                joined(p.sub_purposes.iter().cloned()),
                bases_text(p),
                joined(p.bases.iter().filter_map(|b| b.interest.clone())),
            ];
            row.extend(
                p.security
                    .entries()
                    .iter()
                    .map(|(_, _, text)| text.unwrap_or_default().to_owned()),
            );
            row.extend(CnilCategory::ALL.iter().map(|&cat| category_cell(p, cat)));
            row.push(joined(sensitive));
            row.push(joined(p.data_subjects.iter().map(|s| {
                if s.description.is_empty() {
                    s.category.clone()
                } else {
                    format!("{}: {}", s.category, s.description)
                }
            })));
            row.push(recipients_cell(policy, p, &[RecipientRole::Internal]));
            row.push(recipients_cell(
                policy,
                p,
                &[RecipientRole::ThirdParty, RecipientRole::Authority],
            ));
            row.push(recipients_cell(policy, p, &[RecipientRole::Processor]));
            row.push(if p.transfers.is_empty() {
                "Aucun transfert hors UE".into()
            } else {
                joined(p.transfers.iter().map(|t| {
                    format!(
                        "{} → {} ({}) {}",
                        t.recipient, t.country, t.safeguard, t.documentation
                    )
                }))
            });
            row.push(joined(p.sources.iter().map(|s| {
                if s.description.is_empty() {
                    s.kind.clone()
                } else {
                    format!("{}: {}", s.kind, s.description)
                }
            })));
            row.push(
                p.automated_decisions
                    .clone()
                    .unwrap_or_else(|| "Aucune".into()),
            );
            row
        })
        .collect()
}

fn period_json(period: &Period) -> Value {
    match period {
        Period::For { duration, from } => {
            json!({"kind": "for", "duration": duration.to_string(), "iso8601": duration.iso8601(), "from": from.as_str()})
        }
        Period::Until { event } => json!({"kind": "until", "event": event.as_str()}),
    }
}

/// The register as one JSON document.
pub fn json(policy: &Policy) -> Value {
    let c = &policy.controller;
    let purposes: Vec<Value> = policy
        .purposes
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "name": p.name,
                "description": p.description,
                "sub_purposes": p.sub_purposes,
                "created": p.created,
                "updated": p.updated,
                "legal_bases": p.bases.iter().map(|b| json!({
                    "basis": b.basis.as_str(), "article": b.basis.article(), "case": b.case, "interest": b.interest,
                })).collect::<Vec<_>>(),
                "marketing": p.marketing,
                "data_subjects": p.data_subjects,
                "data_categories": p.categories.iter().map(|cat| json!({
                    "id": cat.id,
                    "name": cat.name,
                    "cnil_category": cat.cnil.as_str(),
                    "origin": cat.origin.as_str(),
                    "sensitive": cat.sensitive,
                    "fields": cat.fields,
                    "retention": cat.retention.describe(),
                    "retention_rule": {
                        "default": period_json(&cat.retention.default),
                        "cases": cat.retention.cases.iter().map(|k| json!({
                            "condition": k.condition, "period": period_json(&k.period), "note": k.note,
                        })).collect::<Vec<_>>(),
                    },
                    "on_erasure": cat.erasure,
                })).collect::<Vec<_>>(),
                "recipients": policy.recipients_of(p).collect::<Vec<_>>(),
                "transfers": p.transfers,
                "sources": p.sources,
                "automated_decisions": p.automated_decisions,
                "security_measures": p.security,
                "rights": rights_matrix(p).into_iter().map(|(right, a)| {
                    let (applies, reason) = match a {
                        Applicability::Yes => ("yes", String::new()),
                        Applicability::Partly(r) => ("partly", r),
                        Applicability::No(r) => ("no", r),
                    };
                    json!({"right": right, "article": right.article(), "applies": applies, "reason": reason})
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "controller": {
            "name": c.party.name, "legal_form": c.legal_form, "registration": c.registration,
            "address": c.party.address, "phone": c.party.phone, "email": c.party.email, "website": c.website,
            "representative": c.representative, "dpo": c.dpo, "joint_controllers": c.joint_controllers,
            "supervisory_authority": c.authority, "binding_language": c.binding_language,
        },
        "purposes": purposes,
    })
}

fn basis_terms(b: LegalBasis) -> [&'static str; 2] {
    match b {
        LegalBasis::Consent => ["dpv:Consent", "eu-gdpr:A6-1-a"],
        LegalBasis::Contract => ["dpv:Contract", "eu-gdpr:A6-1-b"],
        LegalBasis::LegalObligation => ["dpv:LegalObligation", "eu-gdpr:A6-1-c"],
        LegalBasis::VitalInterests => ["dpv:VitalInterest", "eu-gdpr:A6-1-d"],
        LegalBasis::PublicTask => ["dpv:PublicInterest", "eu-gdpr:A6-1-e"],
        LegalBasis::LegitimateInterest => ["dpv:LegitimateInterestOfController", "eu-gdpr:A6-1-f"],
    }
}

fn storage_json(period: &Period, label: String) -> Value {
    match period {
        Period::For { duration, .. } => json!({
            "@type": "dpv:StorageDuration",
            "rdfs:label": label,
            "dpv:hasDuration": {
                "@type": "dpv:TemporalDuration",
                "rdf:value": {"@value": duration.iso8601(), "@type": "xsd:duration"},
            },
        }),
        Period::Until { .. } => json!({
            "@type": "dpv:StorageDuration",
            "rdfs:label": label,
            "dpv:hasDuration": {"@type": "dpv:UntilEventDuration", "rdfs:label": period.to_string()},
        }),
    }
}

fn ids(terms: impl IntoIterator<Item = String>) -> Vec<Value> {
    terms.into_iter().map(|t| json!({"@id": t})).collect()
}

/// The register as JSON-LD with DPV terms; `base` is the IRI the controller's own nodes live
/// under (e.g. `https://www.enlaps.io/privacy/register`).
pub fn jsonld(policy: &Policy, base: &str) -> Value {
    let mut context = serde_json::Map::new();
    for (prefix, iri) in PREFIXES {
        let iri = if prefix == "ex" {
            format!("{base}#")
        } else {
            iri.to_owned()
        };
        context.insert(prefix.to_owned(), Value::String(iri));
    }
    let c = &policy.controller;
    let mut graph = vec![
        json!({
            "@id": "ex:register",
            "@type": "dpv:ROPA",
            "dct:title": format!("Register of processing activities of {}", c.party.name),
            "dct:modified": policy.purposes.iter().filter_map(|p| p.updated).max().map(|d| d.to_string()),
            "dpv:hasDataController": {"@id": "ex:controller"},
            "dct:hasPart": policy.purposes.iter().map(|p| json!({"@id": format!("ex:process-{}", p.id)})).collect::<Vec<_>>(),
        }),
        json!({
            "@id": "ex:controller",
            "@type": ["dpv:DataController", "dpv:LegalEntity"],
            "dpv:hasName": c.party.name,
            "dpv:hasAddress": c.party.address.to_string(),
            "dpv:hasContact": [c.party.email.clone(), c.party.phone.clone()],
            "dpv:hasDataProtectionOfficer": {"@id": "ex:dpo"},
            "dpv:hasRepresentative": c.representative.as_ref().map(|_| json!({"@id": "ex:representative"})),
        }),
        json!({
            "@id": "ex:dpo",
            "@type": "dpv:DataProtectionOfficer",
            "dpv:hasName": c.dpo.name,
            "dpv:hasContact": [c.dpo.email.clone(), c.dpo.phone.clone()],
        }),
        json!({
            "@id": "ex:authority",
            "@type": "dpv:DataProtectionAuthority",
            "dpv:hasName": c.authority.name,
            "dpv:hasContact": c.authority.complaint_url,
        }),
    ];
    if let Some(r) = &c.representative {
        graph.push(json!({"@id": "ex:representative", "@type": "dpv:Representative", "dpv:hasName": r.name}));
    }
    for (term, parent) in &policy.dpv_extensions {
        graph.push(json!({"@id": term, "rdfs:subClassOf": {"@id": parent}}));
    }
    for r in policy.recipients.values() {
        let kind = match r.role {
            RecipientRole::Internal => "dpv:Recipient",
            RecipientRole::Processor => "dpv:DataProcessor",
            RecipientRole::ThirdParty | RecipientRole::Authority => "dpv:ThirdParty",
        };
        graph.push(
            json!({"@id": format!("ex:recipient-{}", r.id), "@type": kind, "dpv:hasName": r.name}),
        );
    }
    for p in &policy.purposes {
        let mut legal = Vec::new();
        for b in &p.bases {
            legal.extend(basis_terms(b.basis).map(str::to_owned));
        }
        legal.dedup();
        let data: Vec<Value> = p
            .categories
            .iter()
            .map(|cat| {
                let origin = match cat.origin {
                    crate::policy::Origin::Provided => "dpv:ProvidedPersonalData",
                    crate::policy::Origin::Observed => "dpv:ObservedPersonalData",
                    crate::policy::Origin::Derived => "dpv:DerivedPersonalData",
                    crate::policy::Origin::Inferred => "dpv:InferredPersonalData",
                };
                let mut types: Vec<String> = cat.dpv.clone();
                types.push(origin.to_owned());
                if cat.sensitive.is_some() {
                    types.push("dpv:SpecialCategoryPersonalData".into());
                }
                json!({
                    "@id": format!("ex:data-{}-{}", p.id, cat.id),
                    "@type": types,
                    "rdfs:label": cat.name,
                    "dpv:hasStorageCondition": storage_json(&cat.retention.default, cat.retention.describe()),
                })
            })
            .collect();
        let measures: Vec<Value> = p
            .security
            .entries()
            .iter()
            .filter_map(|(_, term, text)| {
                text.map(|t| json!({"@type": term, "dct:description": t}))
            })
            .collect();
        graph.push(json!({
            "@id": format!("ex:process-{}", p.id),
            "@type": "dpv:Process",
            "dct:identifier": p.id,
            "dct:title": p.name,
            "dct:description": p.description,
            "dpv:hasPurpose": ids(p.dpv_purposes.iter().cloned()),
            "dpv:hasLegalBasis": ids(legal),
            "dpv:hasPersonalData": data,
            "dpv:hasDataSubject": ids(p.data_subjects.iter().filter_map(|s| s.dpv.clone())),
            "dpv:hasDataController": {"@id": "ex:controller"},
            "dpv:hasRecipient": ids(p.recipients.iter().map(|r| format!("ex:recipient-{r}"))),
            "dpv:hasTechnicalOrganisationalMeasure": measures,
            "dpv:hasDataSource": ids(p.sources.iter().map(|s| match s.kind.as_str() {
                "data_subject" => "dpv:DataSubjectDataSource".to_owned(),
                _ => "dpv:ThirdPartyDataSource".to_owned(),
            })),
            "dpv:hasRight": ids(rights_matrix(p).into_iter().filter(|(_, a)| !matches!(a, Applicability::No(_))).map(|(r, _)| r.dpv().to_owned()).collect::<std::collections::BTreeSet<_>>()),
        }));
    }
    json!({"@context": Value::Object(context), "@graph": graph})
}

/// Every compact IRI (`prefix:Term`) used as an `@id` or `@type` in a JSON-LD document.
pub fn used_terms(doc: &Value) -> std::collections::BTreeSet<String> {
    fn walk(v: &Value, out: &mut std::collections::BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    if k == "@id" || k == "@type" {
                        match v {
                            Value::String(s) => {
                                out.insert(s.clone());
                            }
                            Value::Array(a) => {
                                out.extend(a.iter().filter_map(|x| x.as_str().map(str::to_owned)))
                            }
                            _ => {}
                        }
                    } else if k.contains(':') && !k.starts_with('@') {
                        out.insert(k.clone());
                    }
                    if k != "@context" {
                        walk(v, out);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = std::collections::BTreeSet::new();
    walk(doc, &mut out);
    out
}
