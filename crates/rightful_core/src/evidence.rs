//! What a request must carry, per request type, as configuration (SPEC §6; checklist A6, A13, D5).
//!
//! A policy may ask that a request state some details about the person (last name, first name,
//! e-mail or postal address) and be proven by one of several proofs of identity. The law asks
//! that the check be proportionate (A6): the proofs are the e-mail code bound to the request, an
//! ID token from the configured identity provider, or an authorised agent's signature. An
//! identity document is never a proof asked up front: it may be asked only after the DPO records
//! a reasonable doubt, so it cannot be configured here. Documents of *standing* can be required
//! up front where the law asks for them (a death certificate and proof of heir status, D5; a
//! mandate for an agent, A13).
//!
//! ```toml
//! [evidence.default]
//! details = ["last_name", "first_name", "email|postal_address"]
//! proof = ["email_code", "oidc", "agent_signature"]
//!
//! [evidence."post_mortem.notice_of_death"]
//! details = ["last_name", "first_name", "email"]
//! proof = ["email_code", "oidc", "agent_signature"]
//! documents = ["death_certificate", "heir_status"]
//! ```
//!
//! Rules are looked up from the most specific key (`post_mortem.notice_of_death`) to the request
//! type (`post_mortem`) to `default`.

use crate::intake::RequestType;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A detail a request may have to state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detail {
    /// Family name.
    LastName,
    /// Given name.
    FirstName,
    /// E-mail address.
    Email,
    /// Postal address.
    PostalAddress,
}

impl Detail {
    /// The field's name in a submission.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LastName => "last_name",
            Self::FirstName => "first_name",
            Self::Email => "email",
            Self::PostalAddress => "postal_address",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            Self::LastName,
            Self::FirstName,
            Self::Email,
            Self::PostalAddress,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// A proof of identity that needs no identity document (A6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Proof {
    /// A random, short-lived code sent to the address, bound to the request.
    EmailCode,
    /// A signed ID token from the configured OpenID Connect provider.
    Oidc,
    /// An Ed25519 signature by a registered authorised agent.
    AgentSignature,
}

impl Proof {
    /// Its name in configuration and in the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EmailCode => "email_code",
            Self::Oidc => "oidc",
            Self::AgentSignature => "agent_signature",
        }
    }
}

/// A document a request may carry, checked by the DPO and deleted once checked (A7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// A proof of identity, only after a recorded reasonable doubt (A6).
    IdentityDocument,
    /// A death certificate (LIL art. 85).
    DeathCertificate,
    /// Proof of heir status: an acte de notoriété or a livret de famille (D2019 art. 124, D5).
    HeirStatus,
    /// The directives naming the person who carries them out (D2).
    ExecutorDesignation,
    /// An agent's mandate from the subject (A13).
    Mandate,
}

impl DocumentKind {
    /// Every kind.
    pub const ALL: [Self; 5] = [
        Self::IdentityDocument,
        Self::DeathCertificate,
        Self::HeirStatus,
        Self::ExecutorDesignation,
        Self::Mandate,
    ];

    /// Its name in configuration and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IdentityDocument => "identity_document",
            Self::DeathCertificate => "death_certificate",
            Self::HeirStatus => "heir_status",
            Self::ExecutorDesignation => "executor_designation",
            Self::Mandate => "mandate",
        }
    }

    /// Parses the API spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What one kind of request must carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Details to state; each entry is satisfied by any one of its alternatives.
    pub details: Vec<Vec<Detail>>,
    /// Accepted proofs of identity; any one suffices.
    pub proof: Vec<Proof>,
    /// Documents required up front (never an identity document).
    pub documents: Vec<DocumentKind>,
}

impl Default for Rule {
    fn default() -> Self {
        Self {
            details: vec![vec![Detail::Email]],
            proof: vec![Proof::EmailCode, Proof::Oidc, Proof::AgentSignature],
            documents: Vec::new(),
        }
    }
}

impl Rule {
    /// The details missing from a submission, `given` telling whether a detail was stated (not
    /// blank). Alternatives are shown as `email or postal_address`.
    pub fn missing(&self, given: impl Fn(Detail) -> bool) -> Vec<String> {
        self.details
            .iter()
            .filter(|alts| !alts.iter().any(|d| given(*d)))
            .map(|alts| {
                alts.iter()
                    .map(|d| d.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ")
            })
            .collect()
    }

    /// Whether `proof` is accepted.
    pub fn accepts(&self, proof: Proof) -> bool {
        self.proof.contains(&proof)
    }
}

/// The rules, by key (`default`, a request type, or `<type>.<action>`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Evidence {
    /// Rules by key.
    pub rules: BTreeMap<String, Rule>,
}

impl Evidence {
    /// The rule for a request of type `kind` (and `action`, for post-mortem requests): the most
    /// specific key configured, then the type, then `default`, then the built-in default (the
    /// e-mail address and any proof).
    pub fn rule(&self, kind: RequestType, action: Option<&str>) -> Rule {
        let specific = action.map(|a| format!("{}.{a}", kind.as_str()));
        specific
            .iter()
            .map(String::as_str)
            .chain([kind.as_str(), "default"])
            .find_map(|k| self.rules.get(k))
            .cloned()
            .unwrap_or_default()
    }
}

/// One rule as written in the controller file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// Details, `a|b` for alternatives.
    #[serde(default)]
    pub details: Vec<String>,
    /// Proofs.
    #[serde(default)]
    pub proof: Vec<String>,
    /// Documents.
    #[serde(default)]
    pub documents: Vec<String>,
}

/// The actions a post-mortem request may name.
pub const POST_MORTEM_ACTIONS: [&str; 4] = ["register", "update", "revoke", "notice_of_death"];

/// Checks the configured rules; each error is `(field, message)`.
pub fn convert(raw: BTreeMap<String, RawRule>) -> Result<Evidence, Vec<(String, String)>> {
    let mut errs = Vec::new();
    let mut rules = BTreeMap::new();
    for (key, r) in raw {
        let field = |f: &str| format!("evidence.{key}.{f}");
        let (kind, action) = key
            .split_once('.')
            .map_or((key.as_str(), None), |(k, a)| (k, Some(a)));
        let known_kind = kind == "default" || RequestType::parse(kind).is_some();
        if !known_kind {
            errs.push((
                format!("evidence.{key}"),
                format!("`{kind}` is not a request type (or `default`)"),
            ));
        }
        if let Some(a) = action
            && (kind != "post_mortem" || !POST_MORTEM_ACTIONS.contains(&a))
        {
            errs.push((
                format!("evidence.{key}"),
                format!(
                    "only post-mortem actions have their own rules: {}",
                    POST_MORTEM_ACTIONS
                        .map(|a| format!("post_mortem.{a}"))
                        .join(", ")
                ),
            ));
        }
        let mut details = Vec::new();
        for d in &r.details {
            let alts: Option<Vec<Detail>> = d.split('|').map(|s| Detail::parse(s.trim())).collect();
            match alts {
                Some(a) if !a.is_empty() => details.push(a),
                _ => errs.push((field("details"), format!("`{d}` is not a detail: use last_name, first_name, email, postal_address, or alternatives joined by `|`"))),
            }
        }
        let mut proof = Vec::new();
        for p in &r.proof {
            match [Proof::EmailCode, Proof::Oidc, Proof::AgentSignature].into_iter().find(|x| x.as_str() == p) {
                Some(x) => proof.push(x),
                None if p == "identity_document" || p == "document" => errs.push((
                    field("proof"),
                    "an identity document cannot be asked up front: it may be asked only after the DPO records a reasonable doubt (GDPR 12(6); checklist A6)".into(),
                )),
                None => errs.push((field("proof"), format!("`{p}` is not a proof: use email_code, oidc or agent_signature"))),
            }
        }
        if proof.is_empty() {
            errs.push((
                field("proof"),
                "accept at least one proof of identity".into(),
            ));
        }
        let mut documents = Vec::new();
        for d in &r.documents {
            match DocumentKind::parse(d) {
                Some(DocumentKind::IdentityDocument) => errs.push((
                    field("documents"),
                    "an identity document cannot be required up front (checklist A6); the DPO asks for one by recording a reasonable doubt".into(),
                )),
                Some(k) => documents.push(k),
                None => errs.push((field("documents"), format!("`{d}` is not a document kind: use death_certificate, heir_status, executor_designation or mandate"))),
            }
        }
        rules.insert(
            key.clone(),
            Rule {
                details,
                proof,
                documents,
            },
        );
    }
    if errs.is_empty() {
        Ok(Evidence { rules })
    } else {
        Err(errs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(details: &[&str], proof: &[&str], documents: &[&str]) -> RawRule {
        let v = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect();
        RawRule {
            details: v(details),
            proof: v(proof),
            documents: v(documents),
        }
    }

    #[test]
    fn rules_fall_back_from_the_action_to_the_type_to_the_default() {
        let e = convert(BTreeMap::from([
            (
                "default".to_owned(),
                raw(&["last_name", "email|postal_address"], &["email_code"], &[]),
            ),
            (
                "post_mortem.notice_of_death".to_owned(),
                raw(
                    &["email"],
                    &["email_code", "oidc"],
                    &["death_certificate", "heir_status"],
                ),
            ),
        ]))
        .unwrap();
        let death = e.rule(RequestType::PostMortem, Some("notice_of_death"));
        assert_eq!(
            death.documents,
            [DocumentKind::DeathCertificate, DocumentKind::HeirStatus]
        );
        let register = e.rule(RequestType::PostMortem, Some("register"));
        assert!(register.documents.is_empty() && !register.accepts(Proof::Oidc));
        let access = e.rule(RequestType::Access, None);
        let missing = access.missing(|d| d == Detail::PostalAddress);
        assert_eq!(missing, ["last_name"]);
        assert_eq!(
            access.missing(|_| false),
            ["last_name", "email or postal_address"]
        );
        // Nothing configured: the address and any proof.
        let none = Evidence::default().rule(RequestType::Erasure, None);
        assert_eq!(none, Rule::default());
    }

    #[test]
    fn an_identity_document_cannot_be_asked_up_front_a6() {
        let errs = convert(BTreeMap::from([(
            "access".to_owned(),
            raw(&["email"], &["identity_document"], &["identity_document"]),
        )]))
        .unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "evidence.access.proof",
                "evidence.access.proof",
                "evidence.access.documents"
            ]
        );
        assert!(errs[0].1.contains("A6"));
    }

    #[test]
    fn unknown_keys_details_and_documents_are_named() {
        let errs = convert(BTreeMap::from([
            (
                "teleport".to_owned(),
                raw(&["shoe_size"], &["email_code"], &[]),
            ),
            (
                "access.notice_of_death".to_owned(),
                raw(&[], &["oidc"], &["passport"]),
            ),
        ]))
        .unwrap_err();
        let text = format!("{errs:?}");
        for needle in [
            "`teleport` is not a request type",
            "`shoe_size` is not a detail",
            "only post-mortem actions",
            "`passport` is not a document kind",
        ] {
            assert!(text.contains(needle), "{needle}: {text}");
        }
    }
}
