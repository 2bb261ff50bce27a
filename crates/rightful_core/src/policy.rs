//! The policy model (SPEC §2): the controller and its processing activities, parsed from TOML text
//! and validated into [`Policy`].
//!
//! Parsing is in two steps. Serde reads each file into a raw shape in which every closed set
//! (legal bases, events, categories) is still a string. [`Policy::load`] then converts and checks
//! everything, collecting each problem as a [`PolicyError`] that names the file, the purpose and
//! the field, so that an operator sees every mistake at once.

use crate::duration::CalendarDuration;
use crate::retention::{Condition, Period, RetentionCase, RetentionRule, StartEvent};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

mod raw;

/// One policy problem: which file, which purpose, which field, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyError {
    /// The file the problem is in, as given to [`Policy::load`].
    pub file: String,
    /// The purpose id, or `-` for the controller file.
    pub purpose: String,
    /// The dotted path of the field (`data.identification.fields`).
    pub field: String,
    /// What is wrong, in plain words.
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: purpose `{}`: field `{}`: {}",
            self.file, self.purpose, self.field, self.message
        )
    }
}

/// Every problem found while loading a policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PolicyErrors(pub Vec<PolicyError>);

impl fmt::Display for PolicyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the policy has {} error(s):", self.0.len())?;
        for e in &self.0 {
            writeln!(f, "  - {e}")?;
        }
        Ok(())
    }
}

/// One TOML file handed to the loader: its path (for messages) and its text.
#[derive(Debug, Clone)]
pub struct Source {
    /// Path shown in error messages.
    pub path: String,
    /// The file's contents.
    pub text: String,
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Parses an identifier: 1–64 characters of `a-z`, `0-9`, `_` and `-`, starting with
            /// a letter.
            pub fn parse(s: &str) -> Result<Self, String> {
                let ok = !s.is_empty()
                    && s.len() <= 64
                    && s.starts_with(|c: char| c.is_ascii_lowercase())
                    && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
                if ok {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(format!(
                        "`{s}` is not a valid {} id: use 1-64 lowercase letters, digits, `_` or `-`, starting with a letter",
                        $what
                    ))
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(&self.0)
            }
        }
    };
}

id_type!(
    /// A processing activity's id (`orders`, `commercial_newsletter`).
    PurposeId,
    "purpose"
);
id_type!(
    /// A data category's id, unique within its purpose (`identification`).
    CategoryId,
    "data category"
);
id_type!(
    /// A field's id, unique within its category (`last_name`).
    FieldId,
    "field"
);
id_type!(
    /// A declared recipient's id (`aws`, `paypal`).
    RecipientId,
    "recipient"
);

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// Street and number.
    #[serde(default)]
    pub street: String,
    /// Postal code.
    #[serde(default)]
    pub postcode: String,
    /// City.
    #[serde(default)]
    pub city: String,
    /// ISO 3166 country code.
    #[serde(default)]
    pub country: String,
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<&str> = [
            self.street.as_str(),
            self.postcode.as_str(),
            self.city.as_str(),
            self.country.as_str(),
        ]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect();
        f.write_str(&parts.join(", "))
    }
}

/// A person or body with contact details (controller, DPO, representative, joint controller).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Party {
    /// Name.
    pub name: String,
    /// Role or capacity (e.g. "Chairman").
    #[serde(default)]
    pub role: String,
    /// Company, when the party is external.
    #[serde(default)]
    pub company: String,
    /// Postal address.
    #[serde(default)]
    pub address: Address,
    /// Telephone.
    #[serde(default)]
    pub phone: String,
    /// E-mail address.
    #[serde(default)]
    pub email: String,
    /// Opening hours or other practical notes.
    #[serde(default)]
    pub notes: String,
}

impl Party {
    /// "Name (role), address, phone, e-mail" for one register cell.
    pub fn summary(&self) -> String {
        let mut parts = vec![if self.role.is_empty() {
            self.name.clone()
        } else {
            format!("{} ({})", self.name, self.role)
        }];
        for p in [
            self.company.clone(),
            self.address.to_string(),
            self.phone.clone(),
            self.email.clone(),
        ] {
            if !p.is_empty() {
                parts.push(p);
            }
        }
        parts.join(", ")
    }
}

/// The controller (Art. 4(7)) and its registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Controller {
    /// Name, address and contact of the controller.
    pub party: Party,
    /// Legal form and capital.
    pub legal_form: String,
    /// Trade registry and number.
    pub registration: String,
    /// Website.
    pub website: String,
    /// Which language version of the policy binds.
    pub binding_language: String,
    /// The legal representative.
    pub representative: Option<Party>,
    /// The DPO or person in charge of personal data.
    pub dpo: Party,
    /// Joint controllers (Art. 26), if any.
    pub joint_controllers: Vec<Party>,
    /// The supervisory authority and where to complain (Art. 77).
    pub authority: Authority,
    /// When the privacy policy was last updated.
    pub policy_updated: Option<NaiveDate>,
}

/// The supervisory authority a subject may complain to (Art. 77).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authority {
    /// Name (CNIL).
    pub name: String,
    /// Country.
    #[serde(default)]
    pub country: String,
    /// Address.
    #[serde(default)]
    pub address: Address,
    /// The complaint form.
    pub complaint_url: String,
}

/// Who a recipient is in relation to the controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientRole {
    /// Staff or services inside the controller.
    Internal,
    /// A processor acting on the controller's instructions (Art. 28).
    Processor,
    /// An independent third party or controller.
    ThirdParty,
    /// A public authority receiving data on a legal basis.
    Authority,
}

impl RecipientRole {
    fn parse(s: &str) -> Result<Self, String> {
        Ok(match s {
            "internal" => Self::Internal,
            "processor" => Self::Processor,
            "third_party" => Self::ThirdParty,
            "authority" => Self::Authority,
            _ => {
                return Err(format!(
                    "unknown recipient role `{s}`: use internal, processor, third_party or authority"
                ));
            }
        })
    }
}

/// A named recipient (checklist B2(c): recipients are named, not only categorised).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recipient {
    /// Id used by purposes.
    pub id: RecipientId,
    /// Name as told to the subject.
    pub name: String,
    /// Its role.
    pub role: RecipientRole,
    /// What it does with the data.
    pub description: String,
    /// Where it processes the data.
    pub country: String,
}

/// Art. 6(1) legal bases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    /// Art. 6(1)(a).
    Consent,
    /// Art. 6(1)(b), including pre-contractual measures at the subject's request.
    Contract,
    /// Art. 6(1)(c).
    LegalObligation,
    /// Art. 6(1)(d).
    VitalInterests,
    /// Art. 6(1)(e).
    PublicTask,
    /// Art. 6(1)(f).
    LegitimateInterest,
}

impl LegalBasis {
    /// Every basis, in the order of Art. 6(1).
    pub const ALL: [Self; 6] = [
        Self::Consent,
        Self::Contract,
        Self::LegalObligation,
        Self::VitalInterests,
        Self::PublicTask,
        Self::LegitimateInterest,
    ];

    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Consent => "consent",
            Self::Contract => "contract",
            Self::LegalObligation => "legal_obligation",
            Self::VitalInterests => "vital_interests",
            Self::PublicTask => "public_task",
            Self::LegitimateInterest => "legitimate_interest",
        }
    }

    /// The article, e.g. `Art. 6(1)(a)`.
    pub fn article(self) -> &'static str {
        match self {
            Self::Consent => "Art. 6(1)(a)",
            Self::Contract => "Art. 6(1)(b)",
            Self::LegalObligation => "Art. 6(1)(c)",
            Self::VitalInterests => "Art. 6(1)(d)",
            Self::PublicTask => "Art. 6(1)(e)",
            Self::LegitimateInterest => "Art. 6(1)(f)",
        }
    }

    /// A plain-language label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Consent => "consent",
            Self::Contract => "contract or pre-contractual measures",
            Self::LegalObligation => "legal obligation",
            Self::VitalInterests => "vital interests",
            Self::PublicTask => "public task",
            Self::LegitimateInterest => "legitimate interest",
        }
    }

    fn parse(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|b| b.as_str() == s).ok_or_else(|| {
            format!(
                "unknown legal basis `{s}`: use one of consent, contract, legal_obligation, vital_interests, public_task, legitimate_interest (Art. 6(1)(a)-(f))"
            )
        })
    }
}

/// One legal basis of a purpose, for one sub-case when a purpose has alternatives
/// ("legitimate interest for information requests, pre-contractual measures for quotes").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BasisCase {
    /// The Art. 6(1) basis.
    pub basis: LegalBasis,
    /// Which sub-case it covers; empty when it covers the whole purpose.
    pub case: String,
    /// The interest pursued, required for legitimate interest (Art. 13(1)(d)).
    pub interest: Option<String>,
}

/// A category of data subjects (Art. 30(1)(c)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectCategory {
    /// Short name (customers, prospects).
    pub category: String,
    /// Who exactly.
    #[serde(default)]
    pub description: String,
    /// DPV data-subject term, e.g. `dpv:Customer`.
    #[serde(default)]
    pub dpv: Option<String>,
}

/// The CNIL register template's categories of personal data (block 6) and sensitive data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CnilCategory {
    /// État-civil, identité, données d'identification, images.
    Identity,
    /// Vie personnelle.
    PersonalLife,
    /// Vie professionnelle.
    ProfessionalLife,
    /// Informations d'ordre économique et financier.
    EconomicFinancial,
    /// Données de connexion (IP, logs, identifiants, horodatage).
    Connection,
    /// Données de localisation.
    Location,
    /// Internet (cookies, traceurs, navigation, mesure d'audience).
    Internet,
    /// Autres catégories.
    Other,
}

impl CnilCategory {
    /// All categories, in the template's order.
    pub const ALL: [Self; 8] = [
        Self::Identity,
        Self::PersonalLife,
        Self::ProfessionalLife,
        Self::EconomicFinancial,
        Self::Connection,
        Self::Location,
        Self::Internet,
        Self::Other,
    ];

    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::PersonalLife => "personal_life",
            Self::ProfessionalLife => "professional_life",
            Self::EconomicFinancial => "economic_financial",
            Self::Connection => "connection",
            Self::Location => "location",
            Self::Internet => "internet",
            Self::Other => "other",
        }
    }

    /// The template's French heading.
    pub fn heading_fr(self) -> &'static str {
        match self {
            Self::Identity => "État-civil, identité, données d'identification, images",
            Self::PersonalLife => "Vie personnelle",
            Self::ProfessionalLife => "Vie professionnelle",
            Self::EconomicFinancial => "Informations d'ordre économique et financier",
            Self::Connection => "Données de connexion",
            Self::Location => "Données de localisation",
            Self::Internet => "Internet",
            Self::Other => "Autres catégories de données",
        }
    }

    fn parse(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| {
            format!(
                "unknown CNIL data category `{s}`: use identity, personal_life, professional_life, economic_financial, connection, location, internet or other"
            )
        })
    }
}

/// How data came to exist (WP242: portability covers provided and observed data only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Given actively by the subject (forms, messages).
    Provided,
    /// Observed from the subject's use of the service (logs, activity).
    Observed,
    /// Derived by the controller from other data.
    Derived,
    /// Inferred by the controller (scores, segments).
    Inferred,
}

impl Origin {
    fn parse(s: &str) -> Result<Self, String> {
        Ok(match s {
            "provided" => Self::Provided,
            "observed" => Self::Observed,
            "derived" => Self::Derived,
            "inferred" => Self::Inferred,
            _ => {
                return Err(format!(
                    "unknown origin `{s}`: use provided, observed, derived or inferred"
                ));
            }
        })
    }

    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provided => "provided",
            Self::Observed => "observed",
            Self::Derived => "derived",
            Self::Inferred => "inferred",
        }
    }
}

/// One field of a data category, mandatory or optional for the subject to give.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    /// Id, unique in the category.
    pub id: FieldId,
    /// Label shown to people.
    pub name: String,
    /// Whether the subject must give it (Art. 13(2)(e)).
    pub mandatory: bool,
}

/// Grounds on which data may be kept despite an erasure request (Art. 17(3)) or other rights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeepGround {
    /// Art. 17(3)(a): freedom of expression and information.
    FreedomOfExpression,
    /// Art. 17(3)(b): a legal obligation (e.g. accounting records, Code de commerce L123-22).
    LegalObligation,
    /// Art. 17(3)(c): public health.
    PublicHealth,
    /// Art. 17(3)(d): archiving, research or statistics.
    Archiving,
    /// Art. 17(3)(e): establishment, exercise or defence of legal claims.
    LegalClaims,
    /// Art. 17(1)(a) does not apply yet: the contract is still running, the data is necessary.
    ContractInProgress,
    /// Art. 21(1): the DPO documented compelling legitimate grounds that override the objection.
    CompellingLegitimateGrounds,
}

impl KeepGround {
    /// The article the ground rests on.
    pub fn article(self) -> &'static str {
        match self {
            Self::FreedomOfExpression => "Art. 17(3)(a)",
            Self::LegalObligation => "Art. 17(3)(b)",
            Self::PublicHealth => "Art. 17(3)(c)",
            Self::Archiving => "Art. 17(3)(d)",
            Self::LegalClaims => "Art. 17(3)(e)",
            Self::ContractInProgress => "Art. 17(1)(a), Art. 6(1)(b)",
            Self::CompellingLegitimateGrounds => "Art. 21(1)",
        }
    }

    fn parse_configurable(s: &str) -> Result<Self, String> {
        Ok(match s {
            "freedom_of_expression" => Self::FreedomOfExpression,
            "legal_obligation" => Self::LegalObligation,
            "public_health" => Self::PublicHealth,
            "archiving" => Self::Archiving,
            "legal_claims" => Self::LegalClaims,
            _ => {
                return Err(format!(
                    "unknown erasure exception `{s}`: use freedom_of_expression, legal_obligation, public_health, archiving or legal_claims (Art. 17(3)(a)-(e))"
                ));
            }
        })
    }
}

/// What an erasure does to a data category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ErasureRule {
    /// The records are erased (the store map says how: delete, null, replace, hash).
    Erase,
    /// The records are anonymised irreversibly and kept.
    Anonymise,
    /// The records are kept until their retention ends, on an Art. 17(3) ground.
    Keep {
        /// The ground.
        ground: KeepGround,
        /// The law or reason, e.g. "Code de commerce, art. L123-22".
        reference: String,
    },
}

/// A data category of a purpose, with its fields, retention and erasure rule (Art. 30(1)(c),(f)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataCategory {
    /// Id, unique in the purpose.
    pub id: CategoryId,
    /// Name shown to people.
    pub name: String,
    /// The CNIL template category it is registered under.
    pub cnil: CnilCategory,
    /// Description for the register when the fields alone don't say enough.
    pub description: String,
    /// Provided, observed, derived or inferred (portability scope).
    pub origin: Origin,
    /// Special-category description (Art. 9), when it is one.
    pub sensitive: Option<String>,
    /// DPV personal-data terms (`pd:EmailAddress`).
    pub dpv: Vec<String>,
    /// The fields, each mandatory or optional.
    pub fields: Vec<Field>,
    /// How long it is kept (Art. 5(1)(e), 13(2)(a)).
    pub retention: RetentionRule,
    /// What an erasure does to it.
    pub erasure: ErasureRule,
}

/// Where the data came from (Art. 14(2)(f), 15(1)(g)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSource {
    /// `data_subject`, `third_party` or `public`.
    pub kind: String,
    /// Details.
    #[serde(default)]
    pub description: String,
}

/// A transfer outside the EU (Art. 30(1)(e), 15(2), 46).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// The recipient id.
    pub recipient: String,
    /// Destination country.
    pub country: String,
    /// Safeguard: adequacy decision, standard contractual clauses, binding corporate rules, …
    pub safeguard: String,
    /// Where the safeguard's documentation can be consulted.
    #[serde(default)]
    pub documentation: String,
}

/// The CNIL template's seven kinds of security measures (block 5); each may be left unstated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SecurityMeasures {
    /// Contrôle d'accès des utilisateurs.
    #[serde(default)]
    pub access_control: Option<String>,
    /// Mesures de traçabilité.
    #[serde(default)]
    pub traceability: Option<String>,
    /// Mesures de protection des logiciels.
    #[serde(default)]
    pub software_protection: Option<String>,
    /// Sauvegarde des données.
    #[serde(default)]
    pub backup: Option<String>,
    /// Chiffrement des données.
    #[serde(default)]
    pub encryption: Option<String>,
    /// Contrôle des sous-traitants.
    #[serde(default)]
    pub processor_control: Option<String>,
    /// Autres mesures.
    #[serde(default)]
    pub other: Option<String>,
}

impl SecurityMeasures {
    /// The seven kinds in the template's order with their French label, DPV term and text.
    pub fn entries(&self) -> [(&'static str, &'static str, Option<&str>); 7] {
        [
            (
                "Contrôle d'accès des utilisateurs",
                "dpv:AccessControlMethod",
                self.access_control.as_deref(),
            ),
            (
                "Mesures de traçabilité",
                "dpv:LoggingPolicy",
                self.traceability.as_deref(),
            ),
            (
                "Mesures de protection des logiciels",
                "dpv:SecurityProcedure",
                self.software_protection.as_deref(),
            ),
            (
                "Sauvegarde des données",
                "dpv:DataBackupProtocols",
                self.backup.as_deref(),
            ),
            (
                "Chiffrement des données",
                "dpv:Encryption",
                self.encryption.as_deref(),
            ),
            (
                "Contrôle des sous-traitants",
                "dpv:ThirdPartySecurityProcedures",
                self.processor_control.as_deref(),
            ),
            (
                "Autres mesures",
                "dpv:OrganisationalMeasure",
                self.other.as_deref(),
            ),
        ]
    }

    fn overlay(&self, over: &Self) -> Self {
        let pick = |a: &Option<String>, b: &Option<String>| b.clone().or_else(|| a.clone());
        Self {
            access_control: pick(&self.access_control, &over.access_control),
            traceability: pick(&self.traceability, &over.traceability),
            software_protection: pick(&self.software_protection, &over.software_protection),
            backup: pick(&self.backup, &over.backup),
            encryption: pick(&self.encryption, &over.encryption),
            processor_control: pick(&self.processor_control, &over.processor_control),
            other: pick(&self.other, &over.other),
        }
    }
}

/// A processing activity (Art. 30(1)(b)): a purpose with everything the law asks about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Purpose {
    /// Id (register reference).
    pub id: PurposeId,
    /// The file it was loaded from.
    pub file: String,
    /// Name.
    pub name: String,
    /// Main purpose, in a sentence.
    pub description: String,
    /// Sub-purposes (CNIL template block 4).
    pub sub_purposes: Vec<String>,
    /// DPV purpose terms.
    pub dpv_purposes: Vec<String>,
    /// Legal bases, with alternatives per sub-case.
    pub bases: Vec<BasisCase>,
    /// Direct marketing: an objection stops it without balancing (Art. 21(2)–(3)).
    pub marketing: bool,
    /// Processing by automated means (a condition of portability, Art. 20(1)(b)).
    pub automated_means: bool,
    /// How consent is withdrawn (Art. 7(3)); required when a basis is consent.
    pub withdrawal: Option<String>,
    /// Categories of data subjects.
    pub data_subjects: Vec<SubjectCategory>,
    /// Data categories with fields, retention and erasure rule.
    pub categories: Vec<DataCategory>,
    /// Sources of the data.
    pub sources: Vec<DataSource>,
    /// Recipient ids.
    pub recipients: Vec<RecipientId>,
    /// Transfers outside the EU; empty means none (declared explicitly).
    pub transfers: Vec<Transfer>,
    /// Automated decision-making (Art. 22); `None` means there is none.
    pub automated_decisions: Option<String>,
    /// Security measures (controller-wide ones overlaid with this purpose's).
    pub security: SecurityMeasures,
    /// When the register entry was created.
    pub created: Option<NaiveDate>,
    /// When it was last updated.
    pub updated: Option<NaiveDate>,
}

impl Purpose {
    /// Whether any of the purpose's bases is `basis`.
    pub fn has_basis(&self, basis: LegalBasis) -> bool {
        self.bases.iter().any(|b| b.basis == basis)
    }

    /// The category with this id.
    pub fn category(&self, id: &str) -> Option<&DataCategory> {
        self.categories.iter().find(|c| c.id.as_ref() == id)
    }
}

/// A whole validated policy: controller, named recipients and purposes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// The controller.
    pub controller: Controller,
    /// Named recipients by id.
    pub recipients: BTreeMap<RecipientId, Recipient>,
    /// The processing activities, in id order.
    pub purposes: Vec<Purpose>,
    /// Local DPV terms and the DPV term each narrows (`ex:BlogCommenting` → `dpv:ServiceProvision`).
    pub dpv_extensions: BTreeMap<String, String>,
    /// What each request type must carry: details, accepted proofs, documents of standing.
    pub evidence: crate::evidence::Evidence,
}

impl Policy {
    /// Loads a policy from its controller file and one file per purpose, checking everything and
    /// returning every problem found.
    pub fn load(controller: &Source, purposes: &[Source]) -> Result<Self, PolicyErrors> {
        let mut errs = Errs::default();
        let ctrl = raw::parse_controller(controller, &mut errs);
        let raws: Vec<(&Source, raw::Purpose)> = purposes
            .iter()
            .filter_map(|s| raw::parse_purpose(s, &mut errs).map(|p| (s, p)))
            .collect();

        let mut recipients = BTreeMap::new();
        let mut security = SecurityMeasures::default();
        let mut controller_model = None;
        let mut dpv_extensions = BTreeMap::new();
        let mut evidence = crate::evidence::Evidence::default();
        if let Some(mut c) = ctrl {
            match crate::evidence::convert(std::mem::take(&mut c.evidence)) {
                Ok(e) => evidence = e,
                Err(list) => {
                    for (field, m) in list {
                        errs.push(&controller.path, "-", &field, m);
                    }
                }
            }
            security = c.security.clone();
            dpv_extensions = c.dpv_extensions.clone();
            for (term, parent) in &dpv_extensions {
                if !term.starts_with("ex:") {
                    errs.push(
                        &controller.path,
                        "-",
                        &format!("dpv_extensions.{term}"),
                        "local terms must use the `ex:` prefix",
                    );
                }
                if !crate::register::KNOWN_DPV_TERMS.contains(&parent.as_str()) {
                    errs.push(
                        &controller.path,
                        "-",
                        &format!("dpv_extensions.{term}"),
                        format!("`{parent}` is not a DPV term this release knows"),
                    );
                }
            }
            recipients = convert_recipients(controller, &c, &mut errs);
            controller_model = convert_controller(controller, c, &mut errs);
        }

        let ids: BTreeSet<String> = raws.iter().map(|(_, p)| p.id.clone()).collect();
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for (src, p) in raws {
            if !seen.insert(p.id.clone()) {
                errs.push(
                    &src.path,
                    &p.id,
                    "id",
                    "another file already declares a purpose with this id",
                );
                continue;
            }
            if let Some(purpose) = convert_purpose(src, p, &ids, &recipients, &security, &mut errs)
            {
                check_dpv_terms(&purpose, &dpv_extensions, &mut errs);
                out.push(purpose);
            }
        }
        if purposes.is_empty() {
            errs.push(
                "purposes/",
                "-",
                "-",
                "no purpose file was found: declare at least one processing activity",
            );
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        match controller_model {
            Some(controller) if errs.0.is_empty() => Ok(Self {
                controller,
                recipients,
                purposes: out,
                dpv_extensions,
                evidence,
            }),
            _ => Err(PolicyErrors(errs.0)),
        }
    }

    /// The purpose with this id.
    pub fn purpose(&self, id: &str) -> Option<&Purpose> {
        self.purposes.iter().find(|p| p.id.as_ref() == id)
    }

    /// The named recipients of a purpose.
    pub fn recipients_of<'a>(
        &'a self,
        purpose: &'a Purpose,
    ) -> impl Iterator<Item = &'a Recipient> + 'a {
        purpose
            .recipients
            .iter()
            .filter_map(|id| self.recipients.get(id))
    }
}

/// Collects errors while loading.
#[derive(Default)]
pub(crate) struct Errs(pub(crate) Vec<PolicyError>);

impl Errs {
    pub(crate) fn push(
        &mut self,
        file: &str,
        purpose: &str,
        field: &str,
        message: impl Into<String>,
    ) {
        self.0.push(PolicyError {
            file: file.to_owned(),
            purpose: purpose.to_owned(),
            field: field.to_owned(),
            message: message.into(),
        });
    }
}

/// Checklist G: every DPV term a purpose uses is one the pinned DPV release defines, or a local
/// `ex:` term declared in `[dpv_extensions]`.
fn check_dpv_terms(p: &Purpose, extensions: &BTreeMap<String, String>, errs: &mut Errs) {
    let known =
        |t: &str| crate::register::KNOWN_DPV_TERMS.contains(&t) || extensions.contains_key(t);
    let mut check = |field: String, term: &str| {
        if !known(term) {
            errs.push(&p.file, p.id.as_ref(), &field, format!("`{term}` is not a known DPV term; declare local terms in the controller file's [dpv_extensions]"));
        }
    };
    for t in &p.dpv_purposes {
        check("dpv_purposes".into(), t);
    }
    for s in &p.data_subjects {
        if let Some(t) = &s.dpv {
            check(format!("data_subjects.{}.dpv", s.category), t);
        }
    }
    for c in &p.categories {
        for t in &c.dpv {
            check(format!("data.{}.dpv", c.id), t);
        }
    }
}

fn nonempty(errs: &mut Errs, file: &str, purpose: &str, field: &str, value: &str) {
    if value.trim().is_empty() {
        errs.push(file, purpose, field, "must not be empty");
    }
}

fn convert_recipients(
    src: &Source,
    c: &raw::Controller,
    errs: &mut Errs,
) -> BTreeMap<RecipientId, Recipient> {
    let mut out = BTreeMap::new();
    for (i, r) in c.recipients.iter().enumerate() {
        let field = format!("recipients[{i}]");
        let id = match RecipientId::parse(&r.id) {
            Ok(id) => id,
            Err(m) => {
                errs.push(&src.path, "-", &format!("{field}.id"), m);
                continue;
            }
        };
        let role = match RecipientRole::parse(&r.role) {
            Ok(role) => role,
            Err(m) => {
                errs.push(&src.path, "-", &format!("{field}.role"), m);
                continue;
            }
        };
        nonempty(errs, &src.path, "-", &format!("{field}.name"), &r.name);
        if out.contains_key(&id) {
            errs.push(
                &src.path,
                "-",
                &format!("{field}.id"),
                format!("recipient `{id}` is declared twice"),
            );
        }
        out.insert(
            id.clone(),
            Recipient {
                id,
                name: r.name.clone(),
                role,
                description: r.description.clone(),
                country: r.country.clone(),
            },
        );
    }
    out
}

fn convert_controller(src: &Source, c: raw::Controller, errs: &mut Errs) -> Option<Controller> {
    let f = &src.path;
    // Art. 30(1)(a): name and contact details of the controller and the DPO.
    nonempty(errs, f, "-", "controller.name", &c.controller.name);
    if c.controller.email.is_empty()
        && c.controller.phone.is_empty()
        && c.controller.address.city.is_empty()
    {
        errs.push(
            f,
            "-",
            "controller",
            "give at least one contact detail (email, phone or address) (Art. 30(1)(a))",
        );
    }
    nonempty(errs, f, "-", "dpo.name", &c.dpo.name);
    if c.dpo.email.is_empty() && c.dpo.phone.is_empty() {
        errs.push(
            f,
            "-",
            "dpo",
            "give the DPO's email or phone (Art. 13(1)(b), 30(1)(a))",
        );
    }
    nonempty(
        errs,
        f,
        "-",
        "supervisory_authority.name",
        &c.supervisory_authority.name,
    );
    if !c
        .supervisory_authority
        .complaint_url
        .starts_with("https://")
    {
        errs.push(
            f,
            "-",
            "supervisory_authority.complaint_url",
            "must be an https:// address (Art. 77)",
        );
    }
    Some(Controller {
        party: c.controller,
        legal_form: c.legal_form,
        registration: c.registration,
        website: c.website,
        binding_language: c.binding_language,
        representative: c.representative,
        dpo: c.dpo,
        joint_controllers: c.joint_controllers,
        authority: c.supervisory_authority,
        policy_updated: c.policy_updated,
    })
}

fn convert_purpose(
    src: &Source,
    p: raw::Purpose,
    ids: &BTreeSet<String>,
    recipients: &BTreeMap<RecipientId, Recipient>,
    security: &SecurityMeasures,
    errs: &mut Errs,
) -> Option<Purpose> {
    let file = src.path.as_str();
    let before = errs.0.len();
    let pid = p.id.clone();
    let push = |errs: &mut Errs, field: &str, m: String| errs.push(file, &pid, field, m);

    let id = PurposeId::parse(&p.id)
        .map_err(|m| push(errs, "id", m))
        .ok();
    nonempty(errs, file, &pid, "name", &p.name);
    nonempty(errs, file, &pid, "description", &p.description);

    // Legal bases.
    let mut bases = Vec::new();
    if p.legal_basis.is_empty() {
        push(
            errs,
            "legal_basis",
            "declare at least one legal basis (Art. 6(1))".into(),
        );
    }
    for (i, b) in p.legal_basis.iter().enumerate() {
        match LegalBasis::parse(&b.basis) {
            Ok(basis) => {
                let interest = b.interest.clone().filter(|s| !s.trim().is_empty());
                if basis == LegalBasis::LegitimateInterest && interest.is_none() {
                    push(
                        errs,
                        &format!("legal_basis[{i}].interest"),
                        "legitimate interest needs the interest pursued (Art. 13(1)(d))".into(),
                    );
                }
                if p.legal_basis.len() > 1 && b.case.trim().is_empty() {
                    push(
                        errs,
                        &format!("legal_basis[{i}].case"),
                        "with several bases, say which sub-case each one covers".into(),
                    );
                }
                bases.push(BasisCase {
                    basis,
                    case: b.case.clone(),
                    interest,
                });
            }
            Err(m) => push(errs, &format!("legal_basis[{i}].basis"), m),
        }
    }
    let has_consent = bases.iter().any(|b| b.basis == LegalBasis::Consent);
    let withdrawal = p.withdrawal.clone().filter(|s| !s.trim().is_empty());
    if has_consent && withdrawal.is_none() {
        push(
            errs,
            "withdrawal",
            "a consent-based purpose must say how consent is withdrawn, as easily as it is given (Art. 7(3))".into(),
        );
    }

    // Art. 30(1)(c): categories of subjects and of data.
    if p.data_subjects.is_empty() {
        push(
            errs,
            "data_subjects",
            "declare at least one category of data subjects (Art. 30(1)(c))".into(),
        );
    }
    if p.data.is_empty() {
        push(
            errs,
            "data",
            "declare at least one data category (Art. 30(1)(c))".into(),
        );
    }
    // Art. 30(1)(d).
    let mut purpose_recipients = Vec::new();
    if p.recipients.is_empty() {
        push(
            errs,
            "recipients",
            "declare the recipients, at least the internal ones (Art. 30(1)(d))".into(),
        );
    }
    for (i, r) in p.recipients.iter().enumerate() {
        match RecipientId::parse(r) {
            Ok(id) if recipients.contains_key(&id) => purpose_recipients.push(id),
            Ok(_) => push(
                errs,
                &format!("recipients[{i}]"),
                format!("recipient `{r}` is not declared in the controller file's [[recipients]]"),
            ),
            Err(m) => push(errs, &format!("recipients[{i}]"), m),
        }
    }
    // Art. 30(1)(e): transfers must be stated, even when there are none.
    let transfers = match p.transfers {
        Some(t) => t,
        None => {
            push(errs, "transfers", "state the transfers outside the EU; write `transfers = []` when there are none (Art. 30(1)(e))".into());
            Vec::new()
        }
    };
    for (i, t) in transfers.iter().enumerate() {
        if t.safeguard.trim().is_empty() {
            push(
                errs,
                &format!("transfers[{i}].safeguard"),
                "a transfer needs its safeguard (Art. 46)".into(),
            );
        }
    }
    if p.sources.is_empty() {
        push(
            errs,
            "sources",
            "declare where the data comes from (Art. 14(2)(f))".into(),
        );
    }
    for (i, s) in p.sources.iter().enumerate() {
        if !matches!(s.kind.as_str(), "data_subject" | "third_party" | "public") {
            push(
                errs,
                &format!("sources[{i}].kind"),
                format!(
                    "unknown source `{}`: use data_subject, third_party or public",
                    s.kind
                ),
            );
        }
    }
    let automated_decisions = match p.automated_decisions.as_deref() {
        None => {
            push(errs, "automated_decisions", "state whether automated decisions are made; write `automated_decisions = \"none\"` when there are none (Art. 13(2)(f))".into());
            None
        }
        Some("none") => None,
        Some(other) => Some(other.to_owned()),
    };

    // Retention default for the purpose.
    let default_retention = p
        .retention
        .as_ref()
        .and_then(|r| raw::convert_retention(r, "retention", ids, &mut |f, m| push(errs, f, m)));

    let mut categories = Vec::new();
    let mut cat_ids = BTreeSet::new();
    for (i, d) in p.data.iter().enumerate() {
        let base = format!("data[{i}]");
        let Ok(cid) = CategoryId::parse(&d.id).map_err(|m| push(errs, &format!("{base}.id"), m))
        else {
            continue;
        };
        let base = format!("data.{cid}");
        if !cat_ids.insert(cid.clone()) {
            push(
                errs,
                &format!("{base}.id"),
                "this data category is declared twice".into(),
            );
        }
        nonempty(errs, file, &pid, &format!("{base}.name"), &d.name);
        let cnil = CnilCategory::parse(&d.cnil_category)
            .map_err(|m| push(errs, &format!("{base}.cnil_category"), m))
            .ok();
        let origin = Origin::parse(&d.origin)
            .map_err(|m| push(errs, &format!("{base}.origin"), m))
            .ok();
        if d.fields.is_empty() {
            push(
                errs,
                &format!("{base}.fields"),
                "list the category's fields, each mandatory or optional".into(),
            );
        }
        let mut fields = Vec::new();
        let mut field_ids = BTreeSet::new();
        for (j, fl) in d.fields.iter().enumerate() {
            match FieldId::parse(&fl.id) {
                Ok(fid) => {
                    if !field_ids.insert(fid.clone()) {
                        push(
                            errs,
                            &format!("{base}.fields[{j}].id"),
                            format!("field `{fid}` is declared twice"),
                        );
                    }
                    let Some(mandatory) = fl.mandatory else {
                        push(errs, &format!("{base}.fields.{fid}.mandatory"), "say whether the field is mandatory (true) or optional (false) (Art. 13(2)(e))".into());
                        continue;
                    };
                    fields.push(Field {
                        name: fl.name.clone().unwrap_or_else(|| fid.to_string()),
                        id: fid,
                        mandatory,
                    });
                }
                Err(m) => push(errs, &format!("{base}.fields[{j}].id"), m),
            }
        }
        let retention = match &d.retention {
            Some(r) => raw::convert_retention(r, &format!("{base}.retention"), ids, &mut |f, m| {
                push(errs, f, m)
            }),
            None => default_retention.clone(),
        };
        let Some(retention) = retention else {
            if p.retention.is_none() && d.retention.is_none() {
                push(errs, &format!("{base}.retention"), "no retention rule: give one for the purpose or for this category (Art. 5(1)(e), 30(1)(f))".into());
            }
            continue;
        };
        let erasure = match &d.erasure {
            None => ErasureRule::Erase,
            Some(e) => match e.action.as_str() {
                "erase" => ErasureRule::Erase,
                "anonymise" => ErasureRule::Anonymise,
                "keep" => match e.ground.as_deref().map(KeepGround::parse_configurable) {
                    Some(Ok(ground)) => {
                        let reference = e.reference.clone().unwrap_or_default();
                        if reference.trim().is_empty() {
                            push(
                                errs,
                                &format!("{base}.erasure.reference"),
                                "name the law or reason that requires keeping it".into(),
                            );
                        }
                        ErasureRule::Keep { ground, reference }
                    }
                    Some(Err(m)) => {
                        push(errs, &format!("{base}.erasure.ground"), m);
                        continue;
                    }
                    None => {
                        push(
                            errs,
                            &format!("{base}.erasure.ground"),
                            "keeping data despite erasure needs an Art. 17(3) ground".into(),
                        );
                        continue;
                    }
                },
                other => {
                    push(
                        errs,
                        &format!("{base}.erasure.action"),
                        format!("unknown erasure action `{other}`: use erase, anonymise or keep"),
                    );
                    continue;
                }
            },
        };
        if let (Some(cnil), Some(origin)) = (cnil, origin) {
            categories.push(DataCategory {
                id: cid,
                name: d.name.clone(),
                cnil,
                description: d.description.clone(),
                origin,
                sensitive: d.sensitive.clone().filter(|s| !s.trim().is_empty()),
                dpv: d.dpv.clone(),
                fields,
                retention,
                erasure,
            });
        }
    }

    if errs.0.len() > before {
        return None;
    }
    Some(Purpose {
        id: id?,
        file: file.to_owned(),
        name: p.name,
        description: p.description,
        sub_purposes: p.sub_purposes,
        dpv_purposes: p.dpv_purposes,
        bases,
        marketing: p.marketing,
        automated_means: p.automated_means,
        withdrawal,
        data_subjects: p.data_subjects,
        categories,
        sources: p.sources,
        recipients: purpose_recipients,
        transfers,
        automated_decisions,
        security: security.overlay(&p.security.unwrap_or_default()),
        created: p.created,
        updated: p.updated,
    })
}

// Retention conversion shares these types with `raw`.
pub(crate) fn parse_event(s: &str) -> Result<StartEvent, String> {
    StartEvent::parse(s)
}
pub(crate) fn make_rule(default: Period, cases: Vec<RetentionCase>) -> RetentionRule {
    RetentionRule {
        cases,
        default,
        note: String::new(),
        archive_after: None,
    }
}
pub(crate) fn make_case(condition: Condition, period: Period, note: String) -> RetentionCase {
    RetentionCase {
        condition,
        period,
        note,
    }
}
pub(crate) fn parse_duration(s: &str) -> Result<CalendarDuration, String> {
    s.parse::<CalendarDuration>().map_err(|e| e.to_string())
}

#[cfg(test)]
pub(crate) mod tests;
