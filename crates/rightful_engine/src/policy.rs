//! Loads the policy directory: `controller.toml` and every `purposes/*.toml`, in name order.

use rightful_core::policy::{Policy, PolicyErrors, Source};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Why the policy could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file or directory cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The files were read but are not a valid policy.
    #[error("{0}")]
    Invalid(#[from] PolicyErrors),
}

/// A loaded policy and the SHA-256 digest of its files (the version recorded in the audit trail).
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The validated policy.
    pub policy: Policy,
    /// Digest of every file's path and contents.
    pub digest: String,
}

fn read(path: &Path) -> Result<Source, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.display().to_string(),
        source,
    })?;
    Ok(Source {
        path: path.display().to_string(),
        text,
    })
}

/// Reads and validates the policy in `dir`.
pub fn load_dir(dir: &Path) -> Result<Loaded, LoadError> {
    let controller = read(&dir.join("controller.toml"))?;
    let purposes_dir = dir.join("purposes");
    let paths = crate::toml_files(&purposes_dir).map_err(|source| LoadError::Read {
        path: purposes_dir.display().to_string(),
        source,
    })?;
    let purposes = paths
        .iter()
        .map(|p| read(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut h = Sha256::new();
    for s in std::iter::once(&controller).chain(&purposes) {
        let name = Path::new(&s.path)
            .strip_prefix(dir)
            .map_or_else(|_| s.path.clone(), |p| p.display().to_string());
        h.update(name.as_bytes());
        h.update([0]);
        h.update(s.text.as_bytes());
        h.update([0]);
    }
    let digest = rightful_core::audit::hex(&h.finalize());
    let policy = Policy::load(&controller, &purposes)?;
    Ok(Loaded { policy, digest })
}
