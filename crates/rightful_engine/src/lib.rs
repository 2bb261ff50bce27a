#![doc = include_str!("../README.md")]
//!
//! Errors: settings return [`settings::SettingsError`] (naming the file or the variable), policy
//! loading [`policy::LoadError`], the register [`register::RegisterError`], and the engine
//! [`EngineError`], which wraps them and the store's errors.

pub mod anchor;
pub mod auth;
pub mod demo;
pub mod documents;
pub mod drp;
pub mod env;
pub mod execution;
pub mod identity;
pub mod intake;
pub mod limits;
pub mod mail;
pub mod metrics;
pub mod notices;
pub mod outbox;
pub mod policy;
pub mod postmortem;
pub mod processors;
pub mod register;
pub mod reminders;
pub mod retention;
pub mod schedule;
pub mod secrets;
pub mod settings;
pub mod signing;
pub mod stores;
pub mod suppression;

use rightful_core::Policy;
use rightful_core::audit::EntryContent;
use rightful_store::Store;
use std::sync::Arc;

/// The `*.toml` files of a directory, sorted by name (policy purposes, store maps, processors).
pub(crate) fn toml_files(dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|x| x == "toml") {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

/// Everything that can fail in the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Settings.
    #[error(transparent)]
    Settings(#[from] settings::SettingsError),
    /// The policy.
    #[error(transparent)]
    Policy(#[from] policy::LoadError),
    /// The register export.
    #[error(transparent)]
    Register(#[from] register::RegisterError),
    /// The engine's store.
    #[error(transparent)]
    Store(#[from] rightful_store::StoreError),
    /// Store maps.
    #[error(transparent)]
    Stores(#[from] stores::StoresError),
    /// A site store.
    #[error(transparent)]
    Connector(#[from] rightful_connectors::ConnectorError),
    /// Files.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// The running engine: settings, the validated policy and the store, shared by every handler.
#[derive(Debug, Clone)]
pub struct Engine {
    /// Settings.
    pub settings: Arc<settings::Settings>,
    /// The policy the engine enforces.
    pub policy: Arc<Policy>,
    /// The engine's own state.
    pub store: Store,
    /// Staff token keys.
    pub auth: Arc<auth::TokenKeys>,
    /// Rightful's own Ed25519 key: signs acknowledgements of receipt.
    pub signer: Arc<signing::Signer>,
    /// Mail to data subjects.
    pub mailer: Arc<mail::Mailer>,
    /// Message templates, French and English.
    pub templates: Arc<notices::Templates>,
    /// The identity provider's keys fetched from its JWKS address, and when.
    pub jwks: Arc<std::sync::Mutex<Option<(std::time::Instant, jsonwebtoken::jwk::JwkSet)>>>,
    /// The site's data stores (maps checked against the policy).
    pub stores: Arc<Vec<stores::Store>>,
    /// Outside processors told of rectifications, erasures and restrictions (Art. 19).
    pub processors: Arc<Vec<processors::Processor>>,
    /// Rate limits on what strangers can trigger (per server).
    pub limits: Arc<limits::Limiter>,
    /// The last readiness probe (`GET /health/ready`): when, whether ready, and its body. The
    /// probe opens a connection to every store, so callers within a moment share one.
    pub readiness: Arc<tokio::sync::Mutex<Option<(std::time::Instant, bool, serde_json::Value)>>>,
    /// Counters for `/metrics` (step latencies, sweep rows, callback and mail failures).
    pub metrics: Arc<metrics::Metrics>,
    /// Wakes this server's idle execution workers at once when work becomes due (an approval, a
    /// step that enqueues the next ones); the poll is only the fallback (issue 14).
    pub wake: Arc<tokio::sync::Notify>,
    /// Connectors opened so far, by store name (opened on first use: a store that is down at
    /// start-up does not stop the server).
    connectors: Arc<
        std::sync::Mutex<std::collections::BTreeMap<String, Arc<rightful_connectors::Connector>>>,
    >,
}

impl Engine {
    /// Loads the policy, opens (and migrates) the store, and records in the audit trail which
    /// policy version is in force when it differs from the last one recorded (E4).
    pub fn open(settings: settings::Settings) -> Result<Self, EngineError> {
        let loaded = policy::load_dir(&settings.policy.dir)?;
        metrics::check_token(&settings.metrics.token)?;
        // Keys, results, the outbox and the SQLite database live here: readable by the owner
        // only (0700), an older, wider directory tightened.
        let data_dir = &settings.storage.data_dir;
        rightful_store::private::dir(data_dir).map_err(|source| EngineError::Io {
            path: data_dir.display().to_string(),
            source,
        })?;
        let store = settings.open_store(settings.storage.pool_size)?;
        let auth = Arc::new(auth::TokenKeys::new(&secrets::load_or_create(
            &settings,
            auth::JWT_SECRET_VAR,
            "jwt.key",
        )?));
        let signer = Arc::new(signing::Signer::from_secret(&secrets::load_or_create(
            &settings,
            signing::SIGNING_KEY_VAR,
            "signing.key",
        )?)?);
        let mailer = Arc::new(mail::Mailer::from_settings(&settings, &loaded.policy)?);
        let templates = Arc::new(notices::Templates::load(&settings.mail.templates_dir)?);
        let site_stores = Arc::new(stores::load(&settings, &loaded.policy)?);
        let (procs, proc_warnings) =
            processors::load(&settings.stores.processors_dir, &loaded.policy)?;
        for w in proc_warnings {
            tracing::warn!(warning = %w, "processors");
        }
        let engine = Self {
            settings: Arc::new(settings),
            policy: Arc::new(loaded.policy),
            store,
            auth,
            signer,
            mailer,
            templates,
            jwks: Arc::default(),
            stores: site_stores,
            processors: Arc::new(procs),
            limits: Arc::default(),
            readiness: Arc::default(),
            metrics: Arc::default(),
            wake: Arc::default(),
            connectors: Arc::default(),
        };
        engine.record_policy_version(&loaded.digest)?;
        Ok(engine)
    }

    /// The connector of store `name`, opened (and its map checked against the live schema) on
    /// first use. Blocking: call it from a blocking task.
    pub fn connector(
        &self,
        name: &str,
    ) -> Result<Arc<rightful_connectors::Connector>, rightful_connectors::ConnectorError> {
        if let Ok(map) = self.connectors.lock()
            && let Some(c) = map.get(name)
        {
            return Ok(c.clone());
        }
        let store = self
            .stores
            .iter()
            .find(|s| s.map.name == name)
            .ok_or_else(|| rightful_connectors::ConnectorError::Invalid {
                store: name.to_owned(),
                message: "no such store in the configuration".into(),
            })?;
        let key = stores::hash_key(&self.settings).map_err(|e| {
            rightful_connectors::ConnectorError::Invalid {
                store: name.to_owned(),
                message: e.to_string(),
            }
        })?;
        let c = Arc::new(rightful_connectors::Connector::open(
            store.map.clone(),
            &store.url,
            key,
        )?);
        if let Ok(mut map) = self.connectors.lock() {
            map.insert(name.to_owned(), c.clone());
        }
        Ok(c)
    }

    fn record_policy_version(&self, digest: &str) -> Result<(), EngineError> {
        let purposes = self.policy.purposes.len();
        let digest = digest.to_owned();
        self.store.with_conn(move |c| {
            let last = rightful_store::models::audit::last_with_action(c, "policy.loaded")?;
            if last.is_some_and(|e| e.content.target == digest) {
                return Ok(());
            }
            rightful_store::models::audit::append(
                c,
                vec![EntryContent {
                    at: chrono::Utc::now(),
                    actor: "system".into(),
                    action: "policy.loaded".into(),
                    target: digest,
                    reason: "the policy in force changed".into(),
                    details: serde_json::json!({ "purposes.count": purposes }),
                }],
            )?;
            Ok(())
        })?;
        Ok(())
    }
}

/// The engine's one HTTP client (processor webhooks, portability transmissions, DRP callbacks,
/// the identity provider's keys): built once, since building one loads the TLS roots; each
/// request sets its own timeout. Redirects are not followed: personal data goes to the address
/// configured or named, nowhere else.
pub(crate) fn http_client() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default()
    })
}
