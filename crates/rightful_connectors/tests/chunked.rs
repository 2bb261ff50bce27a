//! Issue 14: statements that bind a list stay below every backend's parameter limit
//! (PostgreSQL 65,535; SQLite 32,766; MySQL/MariaDB 65,535), and keyed-hash anonymisation is
//! set-based. On real PostgreSQL, MariaDB and SQLite databases built from the demo shop.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use diesel::r2d2::ManageConnection;
use rightful_connectors::sql::{Dialect, Manager};
use rightful_connectors::testing::TestSite;
use rightful_connectors::{Connector, Identities, PurgeOptions};
use rightful_core::Policy;
use rightful_core::policy::Source;
use rightful_core::rights::{RequestKind, SubjectFacts, plan};
use rightful_core::storemap::{self, StoreMap};
use std::path::{Path, PathBuf};

/// More values than any backend lets one statement bind.
const OVER_ANY_LIMIT: u64 = 70_000;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(p: &Path) -> Source {
    Source {
        path: p.display().to_string(),
        text: std::fs::read_to_string(p).unwrap(),
    }
}

fn policy() -> Policy {
    let dir = root().join("config/policy");
    let mut purposes: Vec<PathBuf> = std::fs::read_dir(dir.join("purposes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    purposes.sort();
    Policy::load(
        &read(&dir.join("controller.toml")),
        &purposes.iter().map(|p| read(p)).collect::<Vec<_>>(),
    )
    .unwrap()
}

fn shop_map() -> StoreMap {
    let path = root().join("config/stores/shop.toml");
    storemap::load(
        "shop",
        &path.display().to_string(),
        &std::fs::read_to_string(&path).unwrap(),
        &policy(),
    )
    .unwrap()
}

/// A timestamp literal each backend stores in a timestamp column.
fn ts(d: Dialect, s: &str) -> String {
    match d {
        Dialect::Sqlite => format!("'{s}'"),
        Dialect::Postgres | Dialect::Mysql => format!("TIMESTAMP '{s}'"),
    }
}

/// `SELECT n FROM (0..100,000)`, generated on the server (no recursion limit to meet).
fn numbers_below(n: u64) -> String {
    let digit = "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)";
    format!(
        "(SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d AS n FROM {digit} a CROSS JOIN {digit} b CROSS JOIN {digit} c CROSS JOIN {digit} e CROSS JOIN {digit} f) x WHERE n < {n}"
    )
}

/// The shop on every backend, with `fixture(dialect)` loaded; CI must have them all.
fn shops(fixture: &dyn Fn(Dialect) -> String) -> Vec<(Dialect, TestSite)> {
    let sql = std::fs::read_to_string(root().join("demo/schema/shop.postgres.sql")).unwrap();
    let mut out = Vec::new();
    for d in [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite] {
        match TestSite::new(d, &sql) {
            Some(site) => {
                let site = site.unwrap_or_else(|e| panic!("{d:?}: {e}"));
                site.execute(&fixture(d))
                    .unwrap_or_else(|e| panic!("{d:?} fixture: {e}"));
                out.push((d, site));
            }
            None => assert!(
                std::env::var("CI").is_err(),
                "CI must run the {d:?} connector tests: set its RIGHTFUL_TEST_*_URL"
            ),
        }
    }
    out
}

fn open(site: &TestSite) -> Connector {
    Connector::open(shop_map(), &site.url, b"test-secret".to_vec())
        .unwrap_or_else(|e| panic!("{}: {e}", site.url))
}

/// The JSON documents of a raw query (`SELECT … AS doc`), on a fresh connection.
fn raw(site: &TestSite, sql: &str) -> Vec<serde_json::Value> {
    let mut conn = Manager {
        url: site.url.clone(),
    }
    .connect()
    .unwrap();
    conn.exec()
        .docs(sql, &[])
        .unwrap()
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

/// A raw `COUNT(*)` of the rows of `table` meeting `condition`.
fn count(site: &TestSite, d: Dialect, table: &str, condition: &str) -> u64 {
    let sql = format!(
        "SELECT {} AS doc FROM {table} WHERE {condition}",
        d.json_object(&[("n".into(), "COUNT(*)".into())])
    );
    raw(site, &sql)[0]["n"].as_u64().unwrap()
}

fn ids(kind: &str, values: impl IntoIterator<Item = String>) -> Identities {
    let mut out = Identities::new();
    out.entry(kind.to_owned()).or_default().extend(values);
    out
}

fn erasure_plan(found: &rightful_connectors::Found) -> rightful_core::rights::Plan {
    let mut facts = SubjectFacts::default();
    found.add_facts(&mut facts);
    plan(&policy(), &RequestKind::Erasure, &facts, None)
}

/// Ann (customer 1) with 70,000 orders of one line each, Bob (customer 2) with one.
fn many_orders(d: Dialect) -> String {
    format!(
        "INSERT INTO customers (id, email, first_name, last_name, company_name, phone, address, delivery_address, created_at, restricted) VALUES
 (1, 'ann@example.test', 'Ann', 'Martin', NULL, '+33 6 00 00 00 01', '1 rue A', NULL, {c}, FALSE),
 (2, 'bob@example.test', 'Bob', 'Durand', NULL, '+33 6 00 00 00 02', '2 rue B', NULL, {c}, FALSE);
INSERT INTO orders (id, customer_id, ordered_at, delivered_at, status, total_cents) SELECT 100000 + n, 1, {o}, {v}, 'delivered', 1 FROM {nums};
INSERT INTO order_lines (id, order_id, product, quantity, unit_price_cents) SELECT 100000 + n, 100000 + n, 'Tikee', 1, 1 FROM {nums};
INSERT INTO orders (id, customer_id, ordered_at, delivered_at, status, total_cents) VALUES (20, 2, {o}, {v}, 'delivered', 1);
INSERT INTO order_lines (id, order_id, product, quantity, unit_price_cents) VALUES (20, 20, 'Mount', 1, 1);
",
        c = ts(d, "2019-01-10 10:00:00"),
        o = ts(d, "2019-02-01 10:00:00"),
        v = ts(d, "2019-03-15 10:00:00"),
        nums = numbers_below(OVER_ANY_LIMIT),
    )
}

// Issue 14: every parent key in one statement broke past 65,535 (32,766 on SQLite) values. A
// subject whose order lines hang off 70,000 orders is found, exported and erased completely.
#[test]
fn issue14_a_subject_with_70000_orders_is_found_exported_and_erased_completely() {
    for (d, site) in shops(&many_orders) {
        let c = open(&site);
        let found = c
            .discover(&ids("email", ["ann@example.test".to_owned()]))
            .unwrap_or_else(|e| panic!("{d:?}: {e}"));
        let rows = |t: &str| found.hit(t).map(|h| h.rows);
        assert_eq!(rows("customers"), Some(1), "{d:?}");
        assert_eq!(rows("orders"), Some(OVER_ANY_LIMIT), "{d:?}");
        assert_eq!(rows("order_lines"), Some(OVER_ANY_LIMIT), "{d:?}");
        let mut exported = std::collections::BTreeMap::<String, u64>::new();
        let total = c
            .export(&found, &mut |r| {
                *exported.entry(r.table).or_default() += 1;
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{d:?}: {e}"));
        assert_eq!(total, 1 + 2 * OVER_ANY_LIMIT, "{d:?}");
        assert_eq!(exported.get("order_lines"), Some(&OVER_ANY_LIMIT), "{d:?}");
        assert_eq!(exported.get("orders"), Some(&OVER_ANY_LIMIT), "{d:?}");
        let plan = erasure_plan(&found);
        let applied = c
            .erase(&found, &plan)
            .unwrap_or_else(|e| panic!("{d:?}: {e}"));
        assert!(
            applied
                .changes
                .contains(&("order_lines".to_owned(), "delete", OVER_ANY_LIMIT)),
            "{d:?}: {applied:?}"
        );
        // Raw counts: none of Ann's lines is left, Bob's line and Ann's orders (accounting
        // evidence) stay, Ann's customer row is anonymised.
        assert_eq!(
            count(&site, d, "order_lines", "order_id >= 100000"),
            0,
            "{d:?}"
        );
        assert_eq!(count(&site, d, "order_lines", "order_id = 20"), 1, "{d:?}");
        assert_eq!(
            count(&site, d, "orders", "customer_id = 1"),
            OVER_ANY_LIMIT,
            "{d:?}"
        );
        assert_eq!(
            count(&site, d, "customers", "email = 'ann@example.test'"),
            0,
            "{d:?}"
        );
        let again = c
            .discover(&ids("email", ["ann@example.test".to_owned()]))
            .unwrap();
        assert!(again.hits.is_empty(), "{d:?}: {:?}", again.hits);
    }
}

/// Customers 1..=n, each with its own e-mail address `u{id}@example.test`, and no order.
fn many_customers(n: u64) -> impl Fn(Dialect) -> String {
    move |d| {
        let email = match d {
            Dialect::Mysql => "CONCAT('u', 1 + n, '@example.test')".to_owned(),
            Dialect::Postgres | Dialect::Sqlite => "'u' || (1 + n) || '@example.test'".to_owned(),
        };
        format!(
            "INSERT INTO customers (id, email, first_name, last_name, company_name, phone, address, delivery_address, created_at, restricted) SELECT 1 + n, {email}, 'F', 'L', 'C', 'p', 'a', 'd', {c}, FALSE FROM {nums};
",
            c = ts(d, "2019-01-10 10:00:00"),
            nums = numbers_below(n),
        )
    }
}

// Issue 14: hashed anonymisation ran one UPDATE per row. Now the hashes are computed in Rust
// and written by one UPDATE per 1,000 rows: erasing 6,000 customers (their e-mail hashed, their
// other columns replaced) issues at most ceil(6,000 / 1,000) hash UPDATEs plus
// ceil(6,000 / 5,000) for the replaced columns, and every value equals its row's keyed hash.
#[test]
fn issue14_hashed_anonymisation_writes_one_update_per_chunk_and_each_row_gets_its_own_hash() {
    const N: u64 = 6_000;
    for (d, site) in shops(&many_customers(N)) {
        let c = open(&site);
        let found = c
            .discover(&ids("customer_id", (1..=N).map(|i| i.to_string())))
            .unwrap_or_else(|e| panic!("{d:?}: {e}"));
        assert_eq!(found.hit("customers").map(|h| h.rows), Some(N), "{d:?}");
        let plan = erasure_plan(&found);
        let (_, changes_before) = c.statements();
        let applied = c
            .erase(&found, &plan)
            .unwrap_or_else(|e| panic!("{d:?}: {e}"));
        let (_, changes_after) = c.statements();
        assert_eq!(
            applied.changes,
            vec![("customers".to_owned(), "anonymise", N)],
            "{d:?}"
        );
        let updates = changes_after - changes_before;
        assert!(
            (1..=N.div_ceil(1_000) + N.div_ceil(5_000)).contains(&updates),
            "{d:?}: {updates} UPDATEs for {N} rows"
        );
        // Every e-mail is the keyed hash of that row's own address; the other columns replaced.
        let rows = raw(
            &site,
            &format!(
                "SELECT {} AS doc FROM customers",
                d.json_object(&[
                    ("k".into(), "id".into()),
                    ("e".into(), "email".into()),
                    ("f".into(), "first_name".into()),
                ])
            ),
        );
        assert_eq!(rows.len() as u64, N, "{d:?}");
        for r in &rows {
            let id = r["k"].as_u64().unwrap();
            let expected = rightful_connectors::hash::keyed(
                b"test-secret",
                &format!("u{id}@example.test"),
                None,
            );
            assert_eq!(r["e"].as_str(), Some(expected.as_str()), "{d:?}: row {id}");
            assert_eq!(r["f"].as_str(), Some("erased"), "{d:?}: row {id}");
        }
        // A second run finds every value already hashed: no hash UPDATE at all.
        let (_, before) = c.statements();
        c.erase(&found, &plan).unwrap();
        let (_, after) = c.statements();
        assert!(
            after - before <= N.div_ceil(5_000),
            "{d:?}: {} UPDATEs on a second run",
            after - before
        );
    }
}

/// Ann (customer 1) and Bob (customer 2), one order each, delivered long ago, one line each.
fn two_old_orders(d: Dialect) -> String {
    format!(
        "INSERT INTO customers (id, email, first_name, last_name, company_name, phone, address, delivery_address, created_at, restricted) VALUES
 (1, 'ann@example.test', 'Ann', 'M', NULL, 'p', 'a', NULL, {c}, FALSE),
 (2, 'bob@example.test', 'Bob', 'D', NULL, 'p', 'a', NULL, {c}, FALSE);
INSERT INTO orders (id, customer_id, ordered_at, delivered_at, status, total_cents) VALUES
 (10, 1, {o}, {v}, 'delivered', 1), (20, 2, {o}, {v}, 'delivered', 1);
INSERT INTO order_lines (id, order_id, product, quantity, unit_price_cents) VALUES (100, 10, 'x', 1, 1), (200, 20, 'y', 1, 1);
",
        c = ts(d, "2010-01-01 10:00:00"),
        o = ts(d, "2010-02-01 10:00:00"),
        v = ts(d, "2010-03-01 10:00:00"),
    )
}

// Issue 14: the held subjects' exclusion was one `NOT IN` as long as the backlog. With 70,001
// held customers (more than any backend binds in one statement), the sweep runs, keeps the held
// customer's order and its line, and deletes the other's; a dry run predicts it.
#[test]
fn issue14_a_retention_sweep_with_70001_held_subjects_keeps_exactly_theirs() {
    for (d, site) in shops(&two_old_orders) {
        let c = open(&site);
        let held = ids(
            "customer_id",
            std::iter::once("1".to_owned())
                .chain((0..OVER_ANY_LIMIT).map(|i| (1_000_000 + i).to_string())),
        );
        let run = |dry_run| {
            c.purge(
                &policy(),
                PurgeOptions {
                    today: "2026-11-27".parse().unwrap(),
                    batch: 1_000,
                    dry_run,
                    purpose: None,
                    held: Some(&held),
                },
                &mut |_, _| Ok(false),
            )
            .unwrap_or_else(|e| panic!("{d:?}: {e}"))
        };
        let orders = |r: &[rightful_connectors::TablePurge]| {
            r.iter()
                .find(|t| t.table == "orders")
                .map(|t| (t.rows, t.kept))
        };
        let dry = run(true);
        assert_eq!(orders(&dry), Some((1, 1)), "{d:?}: {dry:?}");
        assert_eq!(count(&site, d, "orders", "1 = 1"), 2, "{d:?}: a dry run");
        let real = run(false);
        assert_eq!(orders(&real), Some((1, 1)), "{d:?}: {real:?}");
        // Every table, the customers swept after their orders included: Bob's goes, Ann's stays.
        let table = |r: &[rightful_connectors::TablePurge]| {
            r.iter()
                .map(|t| (t.table.clone(), t.rows, t.kept))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            table(&dry),
            table(&real),
            "{d:?}: the dry run predicts the sweep"
        );
        assert_eq!(
            real.iter()
                .find(|t| t.table == "customers")
                .map(|t| (t.rows, t.kept)),
            Some((1, 1)),
            "{d:?}: {real:?}"
        );
        assert_eq!(count(&site, d, "orders", "id = 10"), 1, "{d:?}");
        assert_eq!(count(&site, d, "order_lines", "order_id = 10"), 1, "{d:?}");
        assert_eq!(count(&site, d, "orders", "id = 20"), 0, "{d:?}");
        assert_eq!(count(&site, d, "order_lines", "order_id = 20"), 0, "{d:?}");
        assert_eq!(count(&site, d, "customers", "id = 1"), 1, "{d:?}");
    }
}
