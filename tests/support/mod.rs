//! Test support: [`TestApp`] builds a real engine (reference policy, a throwaway engine database)
//! for in-process tests, or serves it on a random port for over-the-wire tests.

use rightful_engine::Engine;
use rightful_engine::settings::Settings;
use rightful_store::testing::TestDb;
use std::path::{Path, PathBuf};

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// An engine on a fresh database with the reference policy.
pub struct TestApp {
    /// The engine.
    pub engine: Engine,
    /// Keeps the database alive for the test.
    pub db: TestDb,
}

impl TestApp {
    /// Builds the engine on SQLite, or on PostgreSQL when `postgres` and `RIGHTFUL_TEST_PG_URL`
    /// is set.
    pub fn new(postgres: bool) -> Result<Self, Box<dyn std::error::Error>> {
        Self::with(postgres, |_| {})
    }

    /// Like [`TestApp::new`], with the settings adjusted by `adjust` before the engine opens.
    pub fn with(
        postgres: bool,
        adjust: impl FnOnce(&mut Settings),
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let db = match (postgres, TestDb::postgres()) {
            (true, Some(pg)) => pg?,
            _ => TestDb::sqlite()?,
        };
        let mut settings = Settings::default();
        settings.policy.dir = root().join("config/policy");
        settings.mail.templates_dir = root().join("config/templates");
        settings.stores.dir = root().join("config/stores");
        settings.stores.processors_dir = root().join("config/processors");
        settings.stores.demo_dir = root().join("demo");
        settings.storage.database_url = db.url.clone();
        settings.storage.pool_size = 2;
        // Keys and files of the data directory stay out of the source tree.
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        settings.storage.data_dir =
            std::env::temp_dir().join(format!("rightful-app-{}-{n}", std::process::id()));
        // Tests submit many requests from one address: the rate limits are lifted here, and
        // the tests of the limits themselves (tests/e2e/security.rs) set the shipped defaults.
        settings.limits = relaxed_limits();
        adjust(&mut settings);
        let engine = Engine::open(settings)?;
        Ok(Self { engine, db })
    }

    /// The messages in the outbox, oldest first, quoted-printable decoded.
    pub fn outbox(&self) -> Vec<String> {
        let dir = self.engine.settings.storage.data_dir.join("outbox");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        files
            .iter()
            .filter_map(|f| std::fs::read(f).ok())
            .map(|raw| decode_quoted_printable(&raw))
            .collect()
    }

    /// The whole audit trail.
    #[expect(clippy::unwrap_used, reason = "test support fails loudly")]
    pub fn trail(&self) -> Vec<rightful_core::audit::Entry> {
        self.engine
            .store
            .with_conn(|c| rightful_store::models::audit::between(c, None, None))
            .unwrap()
    }

    /// Moves a request to review, as the identity flow would.
    #[expect(clippy::unwrap_used, reason = "test support fails loudly")]
    pub fn to_review(&self, id: &str) {
        let id = id.to_owned();
        self.engine
            .store
            .with_conn(move |c| {
                rightful_store::models::request::transition(
                    c,
                    &id,
                    rightful_core::lifecycle::Status::AwaitingReview,
                    "system",
                    "identity verified",
                    chrono::Utc::now().naive_utc(),
                )
            })
            .unwrap()
            .unwrap();
    }

    /// Serves the engine on 127.0.0.1 with a random port; returns the base URL.
    pub fn spawn(&self) -> Result<String, Box<dyn std::error::Error>> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let server = rightful_api::serve(self.engine.clone(), listener)?;
        tokio::spawn(server);
        Ok(format!("http://{addr}"))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // The data directory (keys, outbox) is per app and temporary.
        let _ = std::fs::remove_dir_all(&self.engine.settings.storage.data_dir);
    }
}

/// Limits no functional test reaches.
pub fn relaxed_limits() -> rightful_engine::settings::LimitSettings {
    use rightful_engine::settings::Rate;
    let many = Rate {
        max: 1_000_000,
        per_secs: 1,
    };
    rightful_engine::settings::LimitSettings {
        intake_per_ip: many,
        intake_per_address: many,
        verify_per_ip: many,
        token_per_ip: many,
        signin_per_ip: many,
        signin_failures: 1_000_000,
        mail_per_address_per_day: 1_000_000,
        ..Default::default()
    }
}

/// Decodes quoted-printable text (`=XX` bytes, `=` soft line breaks); other `=` stay.
pub fn decode_quoted_printable(raw: &[u8]) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'=' {
            if raw[i + 1..].starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            if let (Some(h), Some(l)) = (
                raw.get(i + 1).and_then(|b| hex(*b)),
                raw.get(i + 2).and_then(|b| hex(*b)),
            ) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(raw[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A submission of `kind` from `email`, with the names the reference policy asks for.
pub fn submission(kind: &str, email: &str) -> rightful_engine::intake::Submission {
    rightful_engine::intake::Submission {
        kind: Some(kind.into()),
        text: None,
        email: email.into(),
        last_name: Some("Lovelace".into()),
        first_name: Some("Ada".into()),
        postal_address: None,
        language: None,
        details: serde_json::Value::Null,
        id_token: None,
    }
}

/// The demo site on the three real servers as `make demo-seed` lays it out (shop on PostgreSQL,
/// CMS on MariaDB, logs on SQLite), seeded with `scale` subjects; `None` when PostgreSQL or
/// MariaDB is not configured for tests (CI always configures both).
pub struct DemoSite {
    /// Keeps the databases alive.
    pub sites: Vec<rightful_connectors::testing::TestSite>,
    /// Store name → URL, for `[stores.urls]`.
    pub urls: std::collections::BTreeMap<String, String>,
}

impl DemoSite {
    /// Seeds the demo site.
    #[expect(clippy::unwrap_used, reason = "test support fails loudly")]
    pub fn new(scale: u64) -> Option<Self> {
        use rightful_connectors::sql::Dialect;
        let mut settings = Settings::default();
        settings.policy.dir = root().join("config/policy");
        settings.stores.dir = root().join("config/stores");
        let policy = rightful_engine::policy::load_dir(&settings.policy.dir)
            .unwrap()
            .policy;
        let mut sites = Vec::new();
        let mut urls = std::collections::BTreeMap::new();
        for mut store in rightful_engine::stores::load(&settings, &policy).unwrap() {
            let dialect = match store.map.name.as_str() {
                "shop" => Dialect::Postgres,
                "cms" => Dialect::Mysql,
                _ => Dialect::Sqlite,
            };
            let site = match rightful_connectors::testing::TestSite::new(dialect, "SELECT 1") {
                Some(s) => s.unwrap(),
                None => {
                    assert!(
                        std::env::var("CI").is_err(),
                        "CI must run the demo-site tests"
                    );
                    return None;
                }
            };
            store.url = site.url.clone();
            let opts = rightful_engine::demo::SeedOptions {
                scale,
                logs_per_subject: 2,
                chunk: 1000,
                reset: false,
                if_missing: false,
            };
            rightful_engine::demo::seed_store(&store, &root().join("demo"), &opts, &mut |_, _| {})
                .unwrap();
            urls.insert(store.map.name.clone(), site.url.clone());
            sites.push(site);
        }
        Some(Self { sites, urls })
    }
}
