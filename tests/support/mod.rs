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
        settings.storage.database_url = db.url.clone();
        settings.storage.pool_size = 2;
        // Keys and files of the data directory stay out of the source tree.
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        settings.storage.data_dir =
            std::env::temp_dir().join(format!("rightful-app-{}-{n}", std::process::id()));
        adjust(&mut settings);
        let engine = Engine::open(settings)?;
        Ok(Self { engine, db })
    }

    /// The messages in the outbox, oldest first.
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
            .filter_map(|f| std::fs::read_to_string(f).ok())
            .collect()
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
