//! The site's data stores: maps loaded from `config/stores/*.toml` and checked against the
//! policy, each with the URL in force and the secret of the `hash` erasure strategy.

use crate::settings::Settings;
use rightful_connectors::Connector;
use rightful_core::Policy;
use rightful_core::storemap::{self, MapErrors, StoreMap};
use std::path::Path;

/// The variable holding the secret of the keyed-hash erasure strategy.
pub const HASH_KEY_VAR: &str = "RIGHTFUL_HASH_KEY";

/// Why the store maps could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum StoresError {
    /// A file or the directory cannot be read.
    #[error("cannot read {path}: {message}")]
    Read {
        /// Path.
        path: String,
        /// Cause.
        message: String,
    },
    /// Maps that do not fit the policy (every problem).
    #[error("{0}")]
    Invalid(MapErrors),
}

/// A store map with the URL in force.
#[derive(Debug, Clone)]
pub struct Store {
    /// The validated map.
    pub map: StoreMap,
    /// Where it is: the map's `url_env` variable, else `[stores.urls]`, else the map's `url`.
    pub url: String,
    /// Where `url` came from, for messages: the variable, or the key and its file and line.
    pub url_from: String,
}

impl Store {
    /// What an error about this store adds: where its URL came from, and the file of a SQLite
    /// store (never the URL itself, which may hold a password).
    pub fn origin(&self) -> String {
        let scheme = rightful_connectors::sql::url_scheme(&self.url);
        match scheme {
            None | Some("sqlite") => format!(
                "URL from {}; SQLite file {}",
                self.url_from,
                self.url.strip_prefix("sqlite://").unwrap_or(&self.url)
            ),
            Some(_) => format!("URL from {}", self.url_from),
        }
    }
}

/// A store that could not be opened, with where its URL came from.
#[derive(Debug, thiserror::Error)]
#[error("{error} ({origin})")]
pub struct OpenError {
    /// The connector's error.
    pub error: rightful_connectors::ConnectorError,
    /// [`Store::origin`].
    pub origin: String,
}

/// Loads every `*.toml` in the stores directory, checked against the policy.
pub fn load(settings: &Settings, policy: &Policy) -> Result<Vec<Store>, StoresError> {
    let dir = &settings.stores.dir;
    let read_err = |p: &Path, e: &dyn std::fmt::Display| StoresError::Read {
        path: p.display().to_string(),
        message: e.to_string(),
    };
    let paths = crate::toml_files(dir).map_err(|e| read_err(dir, &e))?;
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for path in paths {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&path).map_err(|e| read_err(&path, &e))?;
        match storemap::load(&name, &path.display().to_string(), &text, policy) {
            Ok(map) => {
                let from_env = map.url_env.as_deref().and_then(|var| {
                    crate::env::var(var)
                        .filter(|v| !v.is_empty())
                        .map(|v| (v, var.to_owned()))
                });
                let (url, url_from) = from_env
                    .or_else(|| {
                        settings.stores.urls.get(&name).map(|u| {
                            let whence = settings.whence(&["stores", "urls", &name]);
                            (u.clone(), format!("`stores.urls.{name}` ({whence})"))
                        })
                    })
                    .unwrap_or_else(|| {
                        let line = rightful_core::tomlpos::key_line_exact(&text, &["url"])
                            .map(|l| format!(":{l}"))
                            .unwrap_or_default();
                        (
                            map.url.clone(),
                            format!("`url` in {}{line}", path.display()),
                        )
                    });
                out.push(Store { map, url, url_from });
            }
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(StoresError::Invalid(MapErrors(errors)))
    }
}

/// The hash secret: `RIGHTFUL_HASH_KEY`, else a random key kept in `<data_dir>/hash.key`.
pub fn hash_key(settings: &Settings) -> Result<Vec<u8>, crate::EngineError> {
    crate::secrets::load_or_create(settings, HASH_KEY_VAR, "hash.key")
}

/// Opens a connector for each store, checking each map against its live schema; returns every
/// store's outcome so that one unreachable store does not hide the others.
pub fn open_all(stores: &[Store], key: &[u8]) -> Vec<(String, Result<Connector, OpenError>)> {
    stores
        .iter()
        .map(|s| {
            (
                s.map.name.clone(),
                Connector::open(s.map.clone(), &s.url, key.to_vec()).map_err(|error| OpenError {
                    error,
                    origin: s.origin(),
                }),
            )
        })
        .collect()
}
