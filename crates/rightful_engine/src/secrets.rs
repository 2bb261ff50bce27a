//! Secrets: from their environment variable, else a random key kept in the data directory
//! (created on first use, readable by the owner only), so that the embedded default needs no
//! set-up and no secret is ever in a configuration file.

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
    if let Ok(k) = std::fs::read(&path) {
        return Ok(k);
    }
    std::fs::create_dir_all(dir).map_err(io)?;
    let key = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
    .into_bytes();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    use std::io::Write;
    match opts.open(&path) {
        Ok(mut f) => f.write_all(&key).map_err(io)?,
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return std::fs::read(&path).map_err(io);
        }
        Err(e) => return Err(io(e)),
    }
    Ok(key)
}
