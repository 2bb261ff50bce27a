//! What a request asks for, as the subject wrote it (checklist A14: requests need no legal
//! wording; free text that expresses a right is classified, never rejected as invalid).

use serde::{Deserialize, Serialize};
use std::fmt;

/// The kinds of request Rightful takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestType {
    /// Art. 15.
    Access,
    /// Art. 16.
    Rectification,
    /// Art. 17.
    Erasure,
    /// Art. 20.
    Portability,
    /// Art. 21.
    Objection,
    /// Art. 18.
    Restriction,
    /// Art. 7(3).
    WithdrawConsent,
    /// LIL Art. 85: directives or a notice of death.
    PostMortem,
    /// Free text the classifier could not place: accepted, for the DPO to classify (A14).
    Unclassified,
}

impl RequestType {
    /// Every type.
    pub const ALL: [Self; 9] = [
        Self::Access,
        Self::Rectification,
        Self::Erasure,
        Self::Portability,
        Self::Objection,
        Self::Restriction,
        Self::WithdrawConsent,
        Self::PostMortem,
        Self::Unclassified,
    ];

    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Rectification => "rectification",
            Self::Erasure => "erasure",
            Self::Portability => "portability",
            Self::Objection => "objection",
            Self::Restriction => "restriction",
            Self::WithdrawConsent => "withdraw_consent",
            Self::PostMortem => "post_mortem",
            Self::Unclassified => "unclassified",
        }
    }

    /// Parses the API spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl fmt::Display for RequestType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Keywords, French and English, lower case without accents, most specific first.
const KEYWORDS: &[(RequestType, &[&str])] = &[
    (
        RequestType::PostMortem,
        &[
            "deces",
            "decede",
            "death",
            "died",
            "heir",
            "heritier",
            "directives anticipees",
            "after my death",
            "apres ma mort",
        ],
    ),
    (
        RequestType::Portability,
        &[
            "portabilit",
            "portable",
            "transfer my data",
            "transferer mes donnees",
            "machine-readable",
            "export my data",
        ],
    ),
    (
        RequestType::WithdrawConsent,
        &[
            "withdraw",
            "retire mon consentement",
            "retirer mon consentement",
            "revoke my consent",
            "unsubscribe",
            "desinscri",
            "desabonn",
        ],
    ),
    (
        RequestType::Objection,
        &[
            "object",
            "oppos",
            "stop sending",
            "stop using",
            "plus recevoir",
            "arreter",
        ],
    ),
    (
        RequestType::Restriction,
        &["restrict", "limitation", "limiter", "freeze", "geler"],
    ),
    (
        RequestType::Rectification,
        &[
            "rectif",
            "correct",
            "update my",
            "mettre a jour",
            "wrong",
            "inexact",
            "erron",
            "modifier",
        ],
    ),
    (
        RequestType::Erasure,
        &[
            "delete",
            "erase",
            "remove",
            "forget",
            "supprim",
            "effac",
            "oubli",
            "retirer mes donnees",
        ],
    ),
    (
        RequestType::Access,
        &[
            "access",
            "acces",
            "copy of",
            "copie",
            "what data",
            "quelles donnees",
            "which data",
            "do you hold",
            "detenez",
        ],
    ),
];

/// Classifies free text into a request type (A14); [`RequestType::Unclassified`] when no wording
/// matches, so that the DPO classifies it — a request is never refused for its wording.
pub fn classify(text: &str) -> RequestType {
    let folded: String = text
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'à' | 'â' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' => 'i',
            'ô' | 'ö' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            other => other,
        })
        .collect();
    KEYWORDS
        .iter()
        .find(|(_, words)| words.iter().any(|w| folded.contains(w)))
        .map_or(RequestType::Unclassified, |(t, _)| *t)
}

/// A subject's e-mail address, checked at the boundary: one `@`, a dot in the domain, no spaces
/// or control characters, at most 254 characters; stored lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SubjectEmail(String);

impl SubjectEmail {
    /// Parses and normalises an address: a plain addr-spec (`local@domain`) only — no display
    /// name, no angle brackets, no quoted local part, no comments — so that the address
    /// searched is the address written to (issue 12 item 9).
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let atom = |c: char| {
            c.is_ascii_alphanumeric()
                || "!#$%&'*+/=?^_`{|}~-".contains(c)
                || (!c.is_ascii() && c.is_alphanumeric())
        };
        let dotted = |part: &str, ok: &dyn Fn(char) -> bool| {
            !part.is_empty() && part.split('.').all(|w| !w.is_empty() && w.chars().all(ok))
        };
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| {
                    c.is_ascii_alphanumeric() || c == '-' || (!c.is_ascii() && c.is_alphanumeric())
                })
        };
        let ok = s.len() <= 254
            && check_text(s).is_ok()
            && s.split_once('@').is_some_and(|(local, domain)| {
                local.len() <= 64
                    && dotted(local, &atom)
                    && domain.contains('.')
                    && domain.split('.').all(label_ok)
            });
        if ok {
            Ok(Self(s.to_lowercase()))
        } else {
            Err(
                "the e-mail address is not valid: give a plain address such as name@example.org"
                    .into(),
            )
        }
    }
}

/// Refuses text that would hide what it says: NUL and other control characters (line breaks and
/// tabs aside), bidirectional overrides and isolates, and zero-width characters (issue 12
/// item 9). The message never repeats the text.
pub fn check_text(s: &str) -> Result<(), String> {
    let hidden = |c: char| {
        (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            || matches!(c,
                '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{180E}'
                | '\u{FEFF}')
    };
    if s.chars().any(hidden) {
        Err("a name, address or text holds control, bidirectional or zero-width characters".into())
    } else {
        Ok(())
    }
}

impl AsRef<str> for SubjectEmail {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_addr_spec_is_an_address() {
        // Issue 12 item 9: the address searched must be the address written to.
        for ok in [
            "ann@example.com",
            "Ann.Lee+news@mail.example.co.uk",
            "o'neil@example.ie",
            "jörg@bücher.example",
        ] {
            assert!(SubjectEmail::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "Evil<attacker@evil.test>",
            "evil<attacker@evil.test>",
            "\"quoted\"@example.com",
            "ann@example",
            "ann@@example.com",
            "ann@-example.com",
            ".ann@example.com",
            "ann..lee@example.com",
            "ann(comment)@example.com",
            "ann@example.com\u{0}",
            "ann\u{202E}@example.com",
            "ann\u{200B}@example.com",
            "ann lee@example.com",
        ] {
            assert!(SubjectEmail::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hidden_characters_are_refused_in_names() {
        assert!(check_text("Ada Lovelace").is_ok());
        assert!(check_text("line one\nline two").is_ok());
        for bad in [
            "Ada\u{0}",
            "Ada\u{202E}ecalevol",
            "A\u{200D}da",
            "\u{FEFF}Ada",
            "Ada\u{2066}",
        ] {
            assert!(check_text(bad).is_err());
        }
    }

    #[test]
    fn a14_free_text_without_legal_wording_is_classified() {
        for (text, expected) in [
            (
                "Please delete everything you have about me",
                RequestType::Erasure,
            ),
            (
                "Je veux que vous supprimiez mes données",
                RequestType::Erasure,
            ),
            ("What data do you hold on me?", RequestType::Access),
            (
                "Pouvez-vous m'envoyer une copie de mes informations ?",
                RequestType::Access,
            ),
            (
                "My phone number is wrong, please correct it",
                RequestType::Rectification,
            ),
            (
                "Je ne veux plus recevoir vos newsletters",
                RequestType::Objection,
            ),
            (
                "I want to export my data to another service",
                RequestType::Portability,
            ),
            (
                "Je retire mon consentement pour le chat",
                RequestType::WithdrawConsent,
            ),
            (
                "Mon père est décédé, je suis son héritier",
                RequestType::PostMortem,
            ),
            ("Bonjour, j'ai une question", RequestType::Unclassified),
        ] {
            assert_eq!(classify(text), expected, "{text}");
        }
    }

    #[test]
    fn email_addresses_are_checked_and_normalised() {
        assert_eq!(
            SubjectEmail::parse(" Ann@Example.TEST ").unwrap().as_ref(),
            "ann@example.test"
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.test",
            "ann@test",
            "a b@example.test",
            "ann@example.test\n x",
            "a@b@example.test",
            "ann@.example.test",
        ] {
            assert!(SubjectEmail::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn types_round_trip() {
        for t in RequestType::ALL {
            assert_eq!(RequestType::parse(t.as_str()), Some(t));
        }
    }
}
