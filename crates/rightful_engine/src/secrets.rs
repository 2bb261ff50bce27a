//! Secrets: from their environment variable, else a random key kept in the data directory
//! (created on first use, `0600` in a `0700` directory: readable by the owner only), so that
//! the embedded default needs no set-up and no secret is ever in a configuration file.

use crate::EngineError;
use crate::settings::Settings;

/// The secret in `var` (at least 16 bytes), else the content of `<data_dir>/<file>`, created
/// with 256 random bits when missing.
pub fn load_or_create(settings: &Settings, var: &str, file: &str) -> Result<Vec<u8>, EngineError> {
    if let Some(k) = crate::env::var(var).filter(|k| k.len() >= 16) {
        return Ok(k.into_bytes());
    }
    let dir = &settings.storage.data_dir;
    let path = dir.join(file);
    let io = |source| EngineError::Io {
        path: path.display().to_string(),
        source,
    };
    rightful_store::private::dir(dir).map_err(io)?;
    if let Ok(k) = std::fs::read(&path) {
        // A key written before keys were created 0600 is tightened.
        rightful_store::private::tighten(&path).map_err(io)?;
        return Ok(k);
    }
    let key = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
    .into_bytes();
    use std::io::Write;
    match rightful_store::private::create_new(&path) {
        Ok(mut f) => f.write_all(&key).map_err(io)?,
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return std::fs::read(&path).map_err(io);
        }
        Err(e) => return Err(io(e)),
    }
    Ok(key)
}

/// The secret in `var`, else the content of `<data_dir>/<file>`; `None` when neither exists
/// (never creates one: for commands that only check, such as `rightful audit verify`).
pub fn load_existing(settings: &Settings, var: &str, file: &str) -> Option<Vec<u8>> {
    if let Some(k) = crate::env::var(var).filter(|k| k.len() >= 16) {
        return Some(k.into_bytes());
    }
    std::fs::read(settings.storage.data_dir.join(file)).ok()
}
