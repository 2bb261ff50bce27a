//! Issue 12 item 8, as an operator runs it: `rightful retention run` on the demo site in SQLite
//! files, with a legal hold whose lookup fails — the store is not swept, the output says why and
//! the exit status is 1.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Runs the binary from the repository root, its stores at the given URLs.
fn rightful(args: &[&str], shop: &str, cms: &str, logs: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rightful"));
    cmd.args(args).current_dir(root());
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("RIGHTFUL_")) {
        cmd.env_remove(k);
    }
    cmd.env("RIGHTFUL_STORE_SHOP_URL", shop)
        .env("RIGHTFUL_STORE_CMS_URL", cms)
        .env("RIGHTFUL_STORE_LOGS_URL", logs);
    cmd.output().expect("run rightful")
}

#[expect(
    clippy::disallowed_methods,
    reason = "a fixed query of the test's own database"
)]
fn inquiries(cms: &Path) -> Vec<i64> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let mut c = SqliteConnection::establish(cms.to_str().unwrap()).unwrap();
    diesel::RunQueryDsl::load::<Id>(
        diesel::sql_query("SELECT id FROM inquiries WHERE id >= 950001 ORDER BY id"),
        &mut c,
    )
    .unwrap()
    .into_iter()
    .map(|r| r.id)
    .collect()
}

#[test]
fn issue12_item8_retention_run_exits_1_and_leaves_the_store_unswept_when_a_held_set_is_unavailable()
{
    let tmp = tempfile::tempdir().unwrap();
    let (shop, cms, logs) = (
        tmp.path().join("shop.sqlite3"),
        tmp.path().join("cms.sqlite3"),
        tmp.path().join("logs.sqlite3"),
    );
    let url = |p: &Path| format!("sqlite://{}", p.display());
    let (shop_url, cms_url, logs_url) = (url(&shop), url(&cms), url(&logs));
    let data = tmp.path().join("data");
    let data_arg = data.to_str().unwrap();
    let ok = |o: &Output| {
        assert!(
            o.status.success(),
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    ok(&rightful(
        &["demo", "seed", "--scale", "20", "--logs-per-subject", "1"],
        &shop_url,
        &cms_url,
        &logs_url,
    ));
    // Customer 950001 (address in the shop only) and two inquiries of 2015, past their 3 years:
    // the customer's, and someone else's.
    SqliteConnection::establish(shop.to_str().unwrap())
        .unwrap()
        .batch_execute(
            "INSERT INTO customers (id, email, first_name, last_name, phone, address, created_at) VALUES
               (950001, 'held-customer@boundary.test', 'H', 'Held', '0', 'x', '2015-01-01 00:00:00')",
        )
        .unwrap();
    SqliteConnection::establish(cms.to_str().unwrap())
        .unwrap()
        .batch_execute(
            "INSERT INTO inquiries (id, nature, last_name, first_name, email, company_name, phone, country, message, created_at) VALUES
               (950001, 'quote', 'Held', 'H', 'held-customer@boundary.test', NULL, NULL, NULL, 'm', '2015-01-01 10:00:00'),
               (950002, 'quote', 'Free', 'F', 'free-inquirer@boundary.test', NULL, NULL, NULL, 'm', '2015-01-01 10:00:00')",
        )
        .unwrap();
    // A first dry run creates the engine's database; the hold is placed by customer id.
    let sweep = |shop: &str| {
        rightful(
            &[
                "retention",
                "run",
                "--purpose",
                "inquiries",
                "--data-dir",
                data_arg,
            ],
            shop,
            &cms_url,
            &logs_url,
        )
    };
    ok(&rightful(
        &[
            "retention",
            "run",
            "--dry-run",
            "--purpose",
            "inquiries",
            "--data-dir",
            data_arg,
        ],
        &shop_url,
        &cms_url,
        &logs_url,
    ));
    SqliteConnection::establish(data.join("rightful.sqlite3").to_str().unwrap())
        .unwrap()
        .batch_execute(
            "INSERT INTO legal_holds (id, kind, value, reason, created_by, created_at) VALUES
               ('h1', 'customer_id', '950001', 'Claim 2026-17', 'dpo:test', '2026-12-01 00:00:00')",
        )
        .unwrap();

    // The shop cannot be opened: the CMS is not swept, and the run says so and fails.
    let out = sweep(&format!(
        "sqlite://{}",
        tmp.path().join("gone/shop.sqlite3").display()
    ));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    let cms_line = text
        .lines()
        .find(|l| l.starts_with("cms "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        cms_line.contains("skipped: held set unavailable (store `shop`: transient connect:file)"),
        "{cms_line}"
    );
    assert!(!text.contains("@"), "no address in the output: {text}");
    assert_eq!(inquiries(&cms), [950001, 950002], "the CMS was not swept");

    // The shop is back: the sweep runs, the held customer's inquiry stays.
    let out = sweep(&shop_url);
    ok(&out);
    assert_eq!(inquiries(&cms), [950001]);
}
