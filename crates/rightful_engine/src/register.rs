//! Register export (Art. 30; checklist E1–E4, G) in CSV (CNIL layout), JSON or JSON-LD (DPV),
//! written to any `Write`. Refuses to export while an Art. 30(1)(a)–(e) field is empty.

use rightful_core::Policy;
use rightful_core::register::{self, CSV_COLUMNS};
use std::io::Write;
use std::str::FromStr;

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSV, one row per purpose, CNIL template order.
    Csv,
    /// JSON document.
    Json,
    /// JSON-LD with W3C DPV terms.
    JsonLd,
}

impl Format {
    /// The media type served over HTTP.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Json => "application/json",
            Self::JsonLd => "application/ld+json",
        }
    }

    /// A file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Json => "json",
            Self::JsonLd => "jsonld",
        }
    }
}

impl FromStr for Format {
    type Err = RegisterError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "csv" => Ok(Self::Csv),
            "json" => Ok(Self::Json),
            "jsonld" | "json-ld" => Ok(Self::JsonLd),
            other => Err(RegisterError::UnknownFormat(other.to_owned())),
        }
    }
}

/// Why the register could not be exported.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// Not csv, json or jsonld.
    #[error("unknown register format `{0}`: use csv, json or jsonld")]
    UnknownFormat(String),
    /// E1: mandatory Art. 30(1) fields are empty.
    #[error("the register is incomplete: {}", .0.join("; "))]
    Incomplete(Vec<String>),
    /// Writing failed.
    #[error("cannot write the register: {0}")]
    Write(String),
}

/// The IRI base for the JSON-LD register.
pub fn base_iri(policy: &Policy, configured: &str) -> String {
    if !configured.is_empty() {
        return configured.trim_end_matches('#').to_owned();
    }
    let site = policy.controller.website.trim_end_matches('/');
    if site.is_empty() {
        "urn:rightful:register".to_owned()
    } else {
        format!("{site}/privacy/register")
    }
}

/// Writes the register in `format` to `out`; returns the Art. 30(1)(f)–(g) warnings.
pub fn export(
    policy: &Policy,
    format: Format,
    base: &str,
    out: &mut dyn Write,
) -> Result<Vec<String>, RegisterError> {
    let report = register::check(policy);
    if !report.errors.is_empty() {
        return Err(RegisterError::Incomplete(report.errors));
    }
    let write_err = |e: &dyn std::fmt::Display| RegisterError::Write(e.to_string());
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut *out);
            w.write_record(CSV_COLUMNS).map_err(|e| write_err(&e))?;
            for row in register::csv_rows(policy) {
                w.write_record(&row).map_err(|e| write_err(&e))?;
            }
            w.flush().map_err(|e| write_err(&e))?;
        }
        Format::Json | Format::JsonLd => {
            let doc = if format == Format::Json {
                register::json(policy)
            } else {
                register::jsonld(policy, base)
            };
            serde_json::to_writer_pretty(&mut *out, &doc).map_err(|e| write_err(&e))?;
            out.write_all(b"\n").map_err(|e| write_err(&e))?;
        }
    }
    Ok(report.warnings)
}
