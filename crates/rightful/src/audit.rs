//! `rightful audit …`: verify the trail (against a signed head), sign its head, export the
//! signed heads (issue 12 item 10; docs/AUDIT.md).

use rightful_engine::Engine;
use rightful_engine::EngineError;
use rightful_engine::anchor::Outcome;
use rightful_engine::settings::Settings;
use std::process::ExitCode;

/// `rightful audit anchor`.
pub(crate) fn anchor(s: Settings) -> Result<ExitCode, EngineError> {
    let engine = Engine::open(s)?;
    let outcome =
        actix_web::rt::System::new().block_on(rightful_engine::anchor::run_once(&engine))?;
    match outcome {
        Outcome::Anchored(a) => {
            out!(
                "anchored entry {} ({}) at {}",
                a.seq,
                a.hash,
                a.at.to_rfc3339()
            );
            out!(
                "appended to {}",
                rightful_engine::anchor::file_path(&engine.settings).display()
            );
        }
        Outcome::Unchanged { seq } => out!("entry {seq} is signed already"),
        Outcome::Empty => out!("the audit trail is empty: nothing to sign"),
        Outcome::Refused(problems) => {
            out!("NOT anchored: the trail does not extend the last signed head:");
            for p in problems {
                out!("  - {p}");
            }
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `rightful audit anchors [--out FILE]`.
pub(crate) fn anchors(
    s: &Settings,
    out: Option<&std::path::Path>,
) -> Result<ExitCode, EngineError> {
    let store = s.open_store(1)?;
    let anchors = rightful_engine::anchor::all(&store)?;
    let mut text = String::new();
    for a in &anchors {
        text.push_str(&a.to_line());
        text.push('\n');
    }
    match out {
        Some(path) => {
            std::fs::write(path, text).map_err(|source| EngineError::Io {
                path: path.display().to_string(),
                source,
            })?;
            eprintln!("wrote {} anchor(s) to {}", anchors.len(), path.display());
        }
        None => out_nonl!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `rightful audit verify [--anchor FILE] [--key JWKS]`.
pub(crate) fn verify(
    s: &Settings,
    anchor: Option<&std::path::Path>,
    key: Option<&std::path::Path>,
) -> Result<ExitCode, EngineError> {
    use rightful_engine::anchor::{Against, Key};
    // Opening the engine database would create an empty one: "intact, 0 entries" about a
    // directory that does not exist (issue 13 item 5).
    if s.storage.database_url.is_empty() {
        let dir = &s.storage.data_dir;
        let db = dir.join("rightful.sqlite3");
        if !dir.is_dir() {
            eprintln!(
                "error: the data directory {} does not exist: no audit trail to verify",
                dir.display()
            );
            return Ok(ExitCode::FAILURE);
        }
        if !db.is_file() {
            eprintln!(
                "error: no engine database in {} (no {}): no audit trail to verify",
                dir.display(),
                db.display()
            );
            return Ok(ExitCode::FAILURE);
        }
    }
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).map_err(|source| EngineError::Io {
            path: path.display().to_string(),
            source,
        })
    };
    let jwks = match key {
        Some(path) => match serde_json::from_str::<jsonwebtoken::jwk::JwkSet>(&read(path)?) {
            Ok(set) => Some(set),
            Err(e) => {
                eprintln!("error: {}: not a JWK Set: {e}", path.display());
                return Ok(ExitCode::from(2));
            }
        },
        None => None,
    };
    let signer = match &jwks {
        Some(_) => None,
        None => rightful_engine::secrets::load_existing(
            s,
            rightful_engine::signing::SIGNING_KEY_VAR,
            "signing.key",
        )
        .map(|secret| rightful_engine::signing::Signer::from_secret(&secret))
        .transpose()?,
    };
    let key = match (&jwks, &signer) {
        (Some(set), _) => Some(Key::Jwks(set)),
        (None, Some(signer)) => Some(Key::Signer(signer)),
        (None, None) => None,
    };
    let against = match anchor {
        Some(path) => match rightful_engine::anchor::parse(&read(path)?) {
            Ok(given) => Against::Given(given),
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return Ok(ExitCode::from(2));
            }
        },
        None => Against::Known(rightful_engine::anchor::file_path(s)),
    };
    let store = s.open_store(1)?;
    let report = match key {
        Some(key) => {
            store.with_conn(|c| Ok(rightful_engine::anchor::verify(c, key, &against)))??
        }
        None if anchor.is_some() => {
            eprintln!(
                "error: no signing key in the data directory nor in {}: pass --key JWKS",
                rightful_engine::signing::SIGNING_KEY_VAR
            );
            return Ok(ExitCode::from(2));
        }
        None => rightful_engine::anchor::Report {
            verification: store.with_conn(rightful_store::models::audit::verify)?,
            anchor: None,
            refused: Vec::new(),
        },
    };
    let v = &report.verification;
    let against = match &report.anchor {
        Some(a) => format!(
            "the signed head of {} (entry {})",
            a.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            a.seq
        ),
        None => "no signed head".to_owned(),
    };
    if report.ok() {
        if report.anchor.is_some() {
            out!(
                "audit trail intact: {} entries; checked against {against}",
                v.entries
            );
        } else {
            out!(
                "audit trail intact: {} entries (the chain only: no signed head to check it against)",
                v.entries
            );
        }
        Ok(ExitCode::SUCCESS)
    } else {
        out!(
            "audit trail NOT intact: {} entries checked against {against}, {} problem(s):",
            v.entries,
            v.problems.len() + report.refused.len()
        );
        for p in &report.refused {
            out!("  - {p}");
        }
        for p in &v.problems {
            out!("  - {p}");
        }
        Ok(ExitCode::FAILURE)
    }
}
