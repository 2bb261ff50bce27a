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
        let db = match (postgres, TestDb::postgres()) {
            (true, Some(pg)) => pg?,
            _ => TestDb::sqlite()?,
        };
        let mut settings = Settings::default();
        settings.policy.dir = root().join("config/policy");
        settings.storage.database_url = db.url.clone();
        settings.storage.pool_size = 2;
        // Keys and files of the data directory stay out of the source tree.
        settings.storage.data_dir =
            std::env::temp_dir().join(format!("rightful-app-{}", std::process::id()));
        let engine = Engine::open(settings)?;
        Ok(Self { engine, db })
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
