//! Connectors against real PostgreSQL, MariaDB and SQLite databases built from the demo site's
//! schemas, with the reference policy and store maps from `config/`.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use rightful_connectors::sql::Dialect;
use rightful_connectors::testing::TestSite;
use rightful_connectors::{Connector, ConnectorError, Found, Identities};
use rightful_core::Policy;
use rightful_core::policy::{FieldId, Source};
use rightful_core::rights::{Action, RequestKind, SubjectFacts, plan};
use rightful_core::storemap::{self, StoreMap};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

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

fn store_map(name: &str) -> StoreMap {
    let path = root().join(format!("config/stores/{name}.toml"));
    storemap::load(
        name,
        &path.display().to_string(),
        &std::fs::read_to_string(&path).unwrap(),
        &policy(),
    )
    .unwrap()
}

fn schema(file: &str) -> String {
    std::fs::read_to_string(root().join("demo/schema").join(file)).unwrap()
}

/// The backends available for a schema; CI must have them all.
fn sites(dialects: &[Dialect], schema_file: &str, fixture: &str) -> Vec<TestSite> {
    let sql = schema(schema_file);
    let mut out = Vec::new();
    for d in dialects {
        match TestSite::new(*d, &sql) {
            Some(site) => {
                let site = site.unwrap_or_else(|e| panic!("{d:?}: {e}"));
                if !fixture.trim().is_empty() {
                    site.execute(fixture)
                        .unwrap_or_else(|e| panic!("{d:?} fixture: {e}"));
                }
                out.push(site);
            }
            None => assert!(
                std::env::var("CI").is_err(),
                "CI must run the {d:?} connector tests: set its RIGHTFUL_TEST_*_URL"
            ),
        }
    }
    out
}

const SHOP_FIXTURE: &str = "
INSERT INTO customers (id, email, first_name, last_name, company_name, phone, address, delivery_address, created_at, restricted) VALUES
 (1, 'ann@example.test', 'Ann', 'Martin', NULL, '+33 6 00 00 00 01', '1 rue A, Grenoble', NULL, '2019-01-10 10:00:00', FALSE),
 (2, 'bob@example.test', 'Bob', 'Durand', 'Bob SARL', '+33 6 00 00 00 02', '2 rue B, Lyon', '3 rue C, Lyon', '2020-02-02 10:00:00', FALSE);
INSERT INTO orders (id, customer_id, ordered_at, delivered_at, status, total_cents) VALUES
 (10, 1, '2019-02-01 10:00:00', '2019-03-15 10:00:00', 'delivered', 45900),
 (11, 1, '2019-05-01 10:00:00', '2019-05-20 10:00:00', 'delivered', 1200),
 (20, 2, '2021-01-01 10:00:00', NULL, 'paid', 99000);
INSERT INTO order_lines (id, order_id, product, quantity, unit_price_cents) VALUES
 (100, 10, 'Tikee 3 Pro', 1, 45900), (101, 11, 'Mount', 2, 600), (200, 20, 'Tikee 3', 1, 99000);
INSERT INTO invoices (id, order_id, number, issued_at, amount_cents, billing_name, billing_address) VALUES
 (1000, 10, 'F-2019-0001', '2019-02-01 10:00:00', 45900, 'Ann Martin', '1 rue A, Grenoble'),
 (2000, 20, 'F-2021-0001', '2021-01-01 10:00:00', 99000, 'Bob Durand', '2 rue B, Lyon');
INSERT INTO deliveries (id, order_id, carrier, tracking_number, address, shipped_at) VALUES
 (5000, 10, 'La Poste', 'LP123', '1 rue A, Grenoble', '2019-02-03 10:00:00'),
 (6000, 20, 'DHL', 'DHL9', '3 rue C, Lyon', '2021-01-03 10:00:00');
";

const CMS_FIXTURE: &str = "
INSERT INTO technical_newsletter (id, email, subscribed_at, unsubscribed_at, restricted) VALUES
 (1, 'ann@example.test', '2018-01-01 09:00:00', NULL, 0), (2, 'bob@example.test', '2018-01-02 09:00:00', NULL, 0);
INSERT INTO commercial_newsletter (id, email, subscribed_at, unsubscribed_at, restricted) VALUES
 (1, 'ann@example.test', '2018-01-01 09:00:00', NULL, 0), (2, 'bob@example.test', '2018-01-02 09:00:00', NULL, 0);
INSERT INTO consent_records (id, subscription_id, consented_at, consent_text_version) VALUES
 (1, 1, '2018-01-01 09:00:00', 'v3'), (2, 2, '2018-01-02 09:00:00', 'v3');
INSERT INTO blog_comments (id, post_slug, author_name, author_email, website, body, published_at, published) VALUES
 (1, 'timelapse-tips', 'Ann', 'ann@example.test', 'https://ann.example', 'Great tips!', '2023-05-05 12:00:00', 1),
 (2, 'timelapse-tips', 'Bob', 'bob@example.test', 'https://bob.example', 'Thanks', '2023-05-06 12:00:00', 1);
INSERT INTO inquiries (id, nature, last_name, first_name, email, company_name, phone, country, message, created_at) VALUES
 (1, 'quote', 'Martin', 'Ann', 'ann@example.test', NULL, NULL, 'FR', 'Price for 10 units?', '2024-11-02 08:00:00');
INSERT INTO support_tickets (id, request_type, last_name, first_name, email, company_name, phone, country, message, camera_serial_number, created_at) VALUES
 (1, 'repair', 'Martin', 'Ann', 'ann@example.test', NULL, NULL, 'FR', 'Lens fogged', 'TK3-000123', '2022-06-01 08:00:00'),
 (2, 'question', 'Unknown', 'Someone', 'other@example.test', NULL, NULL, NULL, 'Is TK3-000123 stolen?', 'TK3-000123', '2022-07-01 08:00:00');
INSERT INTO site_admins (id, last_name, first_name, email, role_ended_at) VALUES (1, 'Root', 'Alice', 'alice@example.test', NULL);
";

const LOGS_FIXTURE: &str = "
INSERT INTO access_log (id, ip_address, ts, method, path, user_agent, status) VALUES
 (1, '203.0.113.7', '2026-11-01 10:00:00', 'GET', '/shop', 'Firefox', 200),
 (2, '203.0.113.7', '2026-11-02 10:00:00', 'GET', '/blog', 'Firefox', 200),
 (3, '198.51.100.9', '2026-11-02 11:00:00', 'GET', '/', 'Chrome', 200);
";

fn ids(pairs: &[(&str, &str)]) -> Identities {
    let mut out = Identities::new();
    for (k, v) in pairs {
        out.entry((*k).to_owned())
            .or_default()
            .insert((*v).to_owned());
    }
    out
}

fn open(name: &str, site: &TestSite) -> Connector {
    Connector::open(store_map(name), &site.url, b"test-secret".to_vec())
        .unwrap_or_else(|e| panic!("{}: {e}", site.url))
}

fn rows(found: &Found) -> BTreeMap<String, u64> {
    found
        .hits
        .iter()
        .map(|h| (h.table.clone(), h.rows))
        .collect()
}

fn erasure_plan(found: &[&Found]) -> rightful_core::rights::Plan {
    let mut facts = SubjectFacts::default();
    for f in found {
        f.add_facts(&mut facts);
    }
    plan(&policy(), &RequestKind::Erasure, &facts, None)
}

#[test]
fn the_demo_maps_fit_their_live_schemas() {
    for site in sites(
        &[Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite],
        "shop.postgres.sql",
        "",
    ) {
        let c = open("shop", &site);
        assert!(c.warnings.is_empty(), "{}: {:?}", site.url, c.warnings);
    }
    for site in sites(&[Dialect::Mysql, Dialect::Sqlite], "cms.mysql.sql", "") {
        assert!(open("cms", &site).warnings.is_empty());
    }
    for site in sites(&[Dialect::Sqlite, Dialect::Postgres], "logs.sqlite.sql", "") {
        assert!(open("logs", &site).warnings.is_empty());
    }
}

#[test]
fn an_identity_or_time_column_without_an_index_is_reported_not_refused() {
    let sql =
        schema("logs.sqlite.sql").replace("CREATE INDEX access_log_ts ON access_log (ts);", "");
    let site = TestSite::new(Dialect::Sqlite, &sql).unwrap().unwrap();
    assert_eq!(
        open("logs", &site).warnings,
        vec!["table `access_log`: time column `ts` has no index".to_owned()]
    );
}

#[test]
fn a_map_that_does_not_fit_the_database_is_refused_with_every_problem() {
    let sql = format!(
        "{}\nALTER TABLE customers ADD COLUMN loyalty_score INTEGER;",
        schema("shop.postgres.sql")
    );
    let Some(site) = TestSite::new(Dialect::Sqlite, &sql) else {
        unreachable!()
    };
    let site = site.unwrap();
    let text = std::fs::read_to_string(root().join("config/stores/shop.toml"))
        .unwrap()
        .replace("company_name = { category = \"identification\", erase = \"null\" }", "company_name = { category = \"identification\", erase = \"null\" }\nfax = { category = \"identification\", field = \"phone\", erase = \"null\" }")
        .replace("phone = { category = \"identification\", erase = { replace = \"erased\" } }", "phone = { category = \"identification\", erase = \"null\" }");
    let map = storemap::load("shop", "shop.toml", &text, &policy()).unwrap();
    match Connector::open(map, &site.url, Vec::new()) {
        Err(ConnectorError::Schema { store, problems }) => {
            assert_eq!(store, "shop");
            let all = problems.join("\n");
            assert!(
                all.contains("column `loyalty_score` is neither classified nor ignored"),
                "{all}"
            );
            assert!(all.contains("column `fax` does not exist"), "{all}");
            assert!(all.contains("column `phone` is NOT NULL"), "{all}");
        }
        other => panic!("expected a schema error, got {other:?}"),
    }
}

#[test]
fn a_customer_is_found_in_every_table_of_the_shop_by_email_alone() {
    for site in sites(
        &[Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite],
        "shop.postgres.sql",
        SHOP_FIXTURE,
    ) {
        let c = open("shop", &site);
        let found = c.discover(&ids(&[("email", "ann@example.test")])).unwrap();
        let expected: BTreeMap<String, u64> = [
            ("customers", 1),
            ("orders", 2),
            ("order_lines", 2),
            ("invoices", 1),
            ("deliveries", 1),
        ]
        .into_iter()
        .map(|(t, n)| (t.to_owned(), n))
        .collect();
        assert_eq!(rows(&found), expected, "{}", site.url);
        assert!(
            found.identities["customer_id"].contains("1"),
            "identity enrichment: the customer id found by e-mail"
        );
        let mut facts = SubjectFacts::default();
        found.add_facts(&mut facts);
        let orders = &facts.purposes[&rightful_core::PurposeId::parse("orders").unwrap()];
        assert_eq!(
            orders.events[&rightful_core::retention::StartEvent::EndOfContract].to_string(),
            "2019-05-20"
        );
        assert!(!orders.contract_running);
        // Bob's order is still open: his contract is running.
        let bob = c.discover(&ids(&[("email", "bob@example.test")])).unwrap();
        let mut bob_facts = SubjectFacts::default();
        bob.add_facts(&mut bob_facts);
        assert!(bob_facts.purposes.values().any(|p| p.contract_running));
    }
}

#[test]
fn export_returns_every_mapped_field_and_nothing_unmapped() {
    for site in sites(
        &[Dialect::Postgres, Dialect::Sqlite],
        "shop.postgres.sql",
        SHOP_FIXTURE,
    ) {
        let c = open("shop", &site);
        let found = c.discover(&ids(&[("email", "ann@example.test")])).unwrap();
        let mut exported = Vec::new();
        let n = c
            .export(&found, &mut |row| {
                exported.push(row);
                Ok(())
            })
            .unwrap();
        assert_eq!(n, 7);
        let customer = exported.iter().find(|r| r.table == "customers").unwrap();
        let cols: BTreeSet<&str> = customer.values.iter().map(|v| v.0.as_str()).collect();
        let expected: BTreeSet<&str> = [
            "email",
            "first_name",
            "last_name",
            "company_name",
            "phone",
            "address",
            "delivery_address",
        ]
        .into_iter()
        .collect();
        assert_eq!(
            cols, expected,
            "data columns only: no key, no restriction flag, no timestamps"
        );
        assert!(
            customer
                .values
                .iter()
                .any(|(col, _, _, v)| col == "email" && v == "ann@example.test")
        );
        let all = format!("{exported:?}");
        assert!(
            !all.contains("bob@example.test") && !all.contains("Bob Durand"),
            "nothing of another subject"
        );
        assert!(all.contains("F-2019-0001") && all.contains("Tikee 3 Pro"));
    }
}

#[test]
fn erasure_keeps_exactly_the_invoices_of_a_customer_and_a_second_run_changes_nothing() {
    for site in sites(
        &[Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite],
        "shop.postgres.sql",
        SHOP_FIXTURE,
    ) {
        let c = open("shop", &site);
        let found = c.discover(&ids(&[("email", "ann@example.test")])).unwrap();
        let plan = erasure_plan(&[&found]);
        assert!(matches!(
            plan.action("orders", "invoices"),
            Some(Action::Keep { .. })
        ));
        let applied = c.erase(&found, &plan).unwrap();
        let ops: BTreeMap<&str, (&str, u64)> = applied
            .changes
            .iter()
            .map(|(t, op, n)| (t.as_str(), (*op, *n)))
            .collect();
        assert_eq!(
            ops.get("order_lines"),
            Some(&("delete", 2)),
            "{}: {ops:?}",
            site.url
        );
        assert_eq!(
            ops.get("deliveries"),
            Some(&("delete", 1)),
            "{}: {ops:?}",
            site.url
        );
        assert_eq!(
            ops.get("customers").map(|x| x.0),
            Some("anonymise"),
            "{}: {ops:?}",
            site.url
        );
        assert!(
            !ops.contains_key("invoices") && !ops.contains_key("orders"),
            "kept: {ops:?}"
        );
        // Searching again by e-mail finds nothing; by the customer id, only what the law keeps.
        let again = c.discover(&ids(&[("email", "ann@example.test")])).unwrap();
        assert!(again.hits.is_empty(), "{}: {:?}", site.url, rows(&again));
        let kept = c.discover(&ids(&[("customer_id", "1")])).unwrap();
        let expected: BTreeMap<String, u64> = [("customers", 1), ("orders", 2), ("invoices", 1)]
            .into_iter()
            .map(|(t, n)| (t.to_owned(), n))
            .collect();
        assert_eq!(rows(&kept), expected, "{}", site.url);
        let mut exported = Vec::new();
        c.export(&kept, &mut |r| {
            exported.push(format!("{r:?}"));
            Ok(())
        })
        .unwrap();
        let text = exported.join("\n");
        assert!(
            !text.contains("ann@example.test") && !text.contains("+33 6 00 00 00 01"),
            "{text}"
        );
        assert!(
            text.contains("erased:") && text.contains("F-2019-0001"),
            "{text}"
        );
        // A second run on the same rows changes nothing more.
        let before = text.clone();
        c.erase(&found, &plan).unwrap();
        let mut after = Vec::new();
        c.export(&kept, &mut |r| {
            after.push(format!("{r:?}"));
            Ok(())
        })
        .unwrap();
        assert_eq!(after.join("\n"), before);
        // Bob is untouched.
        let bob = c.discover(&ids(&[("email", "bob@example.test")])).unwrap();
        assert_eq!(bob.hits.iter().map(|h| h.rows).sum::<u64>(), 5);
    }
}

#[test]
fn erasure_in_the_cms_and_the_logs_leaves_nothing_of_the_subject() {
    for site in sites(
        &[Dialect::Mysql, Dialect::Sqlite],
        "cms.mysql.sql",
        CMS_FIXTURE,
    ) {
        let c = open("cms", &site);
        let found = c.discover(&ids(&[("email", "ann@example.test")])).unwrap();
        let tables: BTreeSet<String> = found.hits.iter().map(|h| h.table.clone()).collect();
        for t in [
            "technical_newsletter",
            "commercial_newsletter",
            "consent_records",
            "blog_comments",
            "inquiries",
            "support_tickets",
        ] {
            assert!(tables.contains(t), "{}: {t} in {tables:?}", site.url);
        }
        // The serial number found on Ann's ticket leads to the other ticket about her camera.
        assert_eq!(found.hit("support_tickets").unwrap().rows, 2);
        let plan = erasure_plan(&[&found]);
        c.erase(&found, &plan).unwrap();
        assert!(
            c.discover(&ids(&[("email", "ann@example.test")]))
                .unwrap()
                .hits
                .is_empty(),
            "{}",
            site.url
        );
        assert!(
            c.erase(&found, &plan)
                .unwrap()
                .changes
                .iter()
                .all(|(_, _, n)| *n == 0),
            "second run: nothing more"
        );
        let bob = c.discover(&ids(&[("email", "bob@example.test")])).unwrap();
        assert_eq!(
            bob.hits.iter().map(|h| h.rows).sum::<u64>(),
            4,
            "{}",
            site.url
        );
        assert_eq!(
            c.discover(&ids(&[("email", "alice@example.test")]))
                .unwrap()
                .hit("site_admins")
                .unwrap()
                .rows,
            1
        );
    }
    for site in sites(
        &[Dialect::Sqlite, Dialect::Postgres],
        "logs.sqlite.sql",
        LOGS_FIXTURE,
    ) {
        let c = open("logs", &site);
        let found = c.discover(&ids(&[("ip_address", "203.0.113.7")])).unwrap();
        assert_eq!(found.hit("access_log").unwrap().rows, 2);
        let plan = erasure_plan(&[&found]);
        assert_eq!(
            c.erase(&found, &plan).unwrap().changes,
            vec![("access_log".to_owned(), "delete", 2)]
        );
        assert!(
            c.discover(&ids(&[("ip_address", "203.0.113.7")]))
                .unwrap()
                .hits
                .is_empty()
        );
        assert_eq!(
            c.discover(&ids(&[("ip_address", "198.51.100.9")]))
                .unwrap()
                .hit("access_log")
                .unwrap()
                .rows,
            1
        );
    }
}

#[test]
fn rectification_reaches_every_table_holding_the_field() {
    for site in sites(
        &[Dialect::Mysql, Dialect::Sqlite],
        "cms.mysql.sql",
        CMS_FIXTURE,
    ) {
        let c = open("cms", &site);
        let found = c.discover(&ids(&[("email", "ann@example.test")])).unwrap();
        let mut facts = SubjectFacts::default();
        found.add_facts(&mut facts);
        let email = FieldId::parse("email").unwrap();
        let plan = plan(
            &policy(),
            &RequestKind::Rectification {
                fields: [email.clone()].into_iter().collect(),
            },
            &facts,
            None,
        );
        let values = BTreeMap::from([(email, "ann.martin@example.test".to_owned())]);
        let applied = c.rectify(&found, &plan, &values).unwrap();
        let tables: BTreeSet<&str> = applied.changes.iter().map(|(t, _, _)| t.as_str()).collect();
        assert_eq!(
            tables,
            [
                "blog_comments",
                "commercial_newsletter",
                "inquiries",
                "support_tickets",
                "technical_newsletter"
            ]
            .into_iter()
            .collect()
        );
        assert!(
            c.discover(&ids(&[("email", "ann@example.test")]))
                .unwrap()
                .hit("inquiries")
                .is_none()
        );
        assert_eq!(
            c.discover(&ids(&[("email", "ann.martin@example.test")]))
                .unwrap()
                .hit("inquiries")
                .unwrap()
                .rows,
            1
        );
    }
}

#[test]
fn rectification_reaches_the_shop_too() {
    for site in sites(
        &[Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite],
        "shop.postgres.sql",
        SHOP_FIXTURE,
    ) {
        let c = open("shop", &site);
        let found = c.discover(&ids(&[("email", "ann@example.test")])).unwrap();
        let mut facts = SubjectFacts::default();
        found.add_facts(&mut facts);
        let fields = ["email", "phone"]
            .into_iter()
            .map(|f| FieldId::parse(f).unwrap())
            .collect();
        let plan = plan(
            &policy(),
            &RequestKind::Rectification { fields },
            &facts,
            None,
        );
        let values = BTreeMap::from([
            (
                FieldId::parse("email").unwrap(),
                "ann.martin@example.test".to_owned(),
            ),
            (
                FieldId::parse("phone").unwrap(),
                "+33 6 99 99 99 99".to_owned(),
            ),
        ]);
        let applied = c.rectify(&found, &plan, &values).unwrap();
        assert_eq!(
            applied.changes,
            vec![("customers".to_owned(), "rectify", 1)],
            "{}",
            site.url
        );
        let moved = c
            .discover(&ids(&[("email", "ann.martin@example.test")]))
            .unwrap();
        assert_eq!(
            rows(&moved),
            rows(&found),
            "{}: the same rows, under the new address",
            site.url
        );
        let mut text = String::new();
        c.export(&moved, &mut |r| {
            text.push_str(&format!("{r:?}"));
            Ok(())
        })
        .unwrap();
        assert!(text.contains("+33 6 99 99 99 99") && !text.contains("+33 6 00 00 00 01"));
        assert!(
            c.discover(&ids(&[("email", "bob@example.test")]))
                .unwrap()
                .hit("customers")
                .is_some(),
            "Bob is untouched"
        );
    }
}

#[test]
fn restriction_is_recorded_where_the_store_has_a_flag_and_reported_elsewhere() {
    for site in sites(
        &[Dialect::Postgres, Dialect::Sqlite],
        "shop.postgres.sql",
        SHOP_FIXTURE,
    ) {
        let c = open("shop", &site);
        let found = c.discover(&ids(&[("email", "ann@example.test")])).unwrap();
        let mut facts = SubjectFacts::default();
        found.add_facts(&mut facts);
        let plan = plan(&policy(), &RequestKind::Restriction, &facts, None);
        let applied = c.restrict(&found, &plan).unwrap();
        assert_eq!(
            applied.changes,
            vec![("customers".to_owned(), "restrict", 1)]
        );
        assert!(
            applied
                .unrecorded_restrictions
                .contains(&"order_lines".to_owned())
        );
    }
}

#[test]
fn identities_shaped_like_sql_injection_find_nothing_and_change_nothing() {
    let nasty = [
        "' OR 1=1 --",
        "ann@example.test' OR '1'='1",
        "x\"; DROP TABLE customers; --",
        "1; DELETE FROM orders",
        "ànn@exämple.test\u{0}",
        "%",
        "*",
    ];
    for site in sites(
        &[Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite],
        "shop.postgres.sql",
        SHOP_FIXTURE,
    ) {
        let c = open("shop", &site);
        for v in nasty {
            let found = c
                .discover(&ids(&[("email", v), ("customer_id", v)]))
                .unwrap_or_else(|e| panic!("{v}: {e}"));
            assert!(found.hits.is_empty(), "{v} found {:?}", rows(&found));
            let plan = erasure_plan(&[&found]);
            assert!(c.erase(&found, &plan).unwrap().changes.is_empty());
        }
        let all = c
            .discover(&ids(&[("customer_id", "1"), ("customer_id", "2")]))
            .unwrap();
        assert_eq!(
            all.hits.iter().map(|h| h.rows).sum::<u64>(),
            12,
            "{}: every row is still there",
            site.url
        );
    }
}

#[test]
fn an_unreachable_store_is_a_clear_error_naming_the_store() {
    for url in [
        "postgres://nobody@127.0.0.1:1/none",
        "mysql://nobody@127.0.0.1:1/none",
        "/nonexistent-dir/x/site.sqlite3",
    ] {
        match Connector::open(store_map("shop"), url, Vec::new()) {
            Err(e @ ConnectorError::Unreachable { .. }) => assert!(
                e.to_string().starts_with("store `shop` is unreachable"),
                "{e}"
            ),
            other => panic!("{url}: expected unreachable, got {other:?}"),
        }
    }
}

mod purge {
    use super::*;
    use rightful_connectors::PurgeOptions;
    use rightful_core::retention::Condition;

    const CMS: &str = "
INSERT INTO support_tickets (id, request_type, last_name, first_name, email, company_name, phone, country, message, camera_serial_number, created_at) VALUES
 (1, 'repair', 'A', 'A', 's1@example.test', NULL, NULL, NULL, 'm', 'S1', '2021-11-26 23:00:00'),
 (2, 'repair', 'B', 'B', 'c2@example.test', NULL, NULL, NULL, 'm', 'S2', '2021-11-27 08:00:00'),
 (3, 'repair', 'C', 'C', 's3@example.test', NULL, NULL, NULL, 'm', 'S3', '2023-11-26 23:00:00'),
 (4, 'repair', 'D', 'D', 's4@example.test', NULL, NULL, NULL, 'm', 'S4', '2023-11-27 00:00:00'),
 (5, 'repair', 'E', 'E', 'c5@example.test', NULL, NULL, NULL, 'm', 'S5', '2023-01-01 10:00:00');
INSERT INTO inquiries (id, nature, last_name, first_name, email, company_name, phone, country, message, created_at) VALUES
 (1, 'quote', 'A', 'A', 'a@example.test', NULL, NULL, NULL, 'm', '2023-11-26 12:00:00'),
 (2, 'quote', 'B', 'B', 'b@example.test', NULL, NULL, NULL, 'm', '2023-11-27 12:00:00');
INSERT INTO technical_newsletter (id, email, subscribed_at, unsubscribed_at, restricted) VALUES
 (1, 'a@example.test', '2020-01-01 00:00:00', '2026-11-26 10:00:00', 0),
 (2, 'b@example.test', '2020-01-01 00:00:00', '2026-11-27 10:00:00', 0),
 (3, 'c@example.test', '2010-01-01 00:00:00', NULL, 0);
INSERT INTO commercial_newsletter (id, email, subscribed_at, unsubscribed_at, restricted) VALUES
 (1, 'a@example.test', '2020-01-01 00:00:00', '2025-03-01 10:00:00', 0),
 (2, 'b@example.test', '2020-01-01 00:00:00', NULL, 0);
INSERT INTO consent_records (id, subscription_id, consented_at, consent_text_version) VALUES
 (1, 1, '2020-01-01 00:00:00', 'v1'), (2, 2, '2020-01-01 00:00:00', 'v1');
INSERT INTO blog_comments (id, post_slug, author_name, author_email, website, body, published_at, published) VALUES
 (1, 'p', 'A', 'a@example.test', 'https://a.example', 'x', '2021-11-26 12:00:00', 1),
 (2, 'p', 'B', 'b@example.test', 'https://b.example', 'y', '2021-11-27 12:00:00', 1);
INSERT INTO site_admins (id, last_name, first_name, email, role_ended_at) VALUES
 (1, 'Gone', 'G', 'g@example.test', '2026-01-31 18:00:00'), (2, 'Here', 'H', 'h@example.test', NULL);
";

    fn today() -> chrono::NaiveDate {
        "2026-11-27".parse().unwrap()
    }

    fn remaining(c: &Connector, kind: &str, values: &[&str]) -> u64 {
        let mut ids = Identities::new();
        for v in values {
            ids.entry(kind.into()).or_default().insert((*v).into());
        }
        c.discover(&ids).unwrap().hits.iter().map(|h| h.rows).sum()
    }

    fn customer_resolver() -> impl FnMut(&Condition, &Identities) -> Result<bool, ConnectorError> {
        |cond, ids| match cond {
            Condition::AppearsIn(p) if p.as_ref() == "orders" => Ok(ids
                .get("email")
                .is_some_and(|e| e.iter().any(|x| x.starts_with('c')))),
            other => panic!("unexpected condition {other:?}"),
        }
    }

    #[test]
    fn only_rows_past_their_period_go_including_the_conditional_after_sales_rule() {
        for site in sites(&[Dialect::Mysql, Dialect::Sqlite], "cms.mysql.sql", CMS) {
            let c = open("cms", &site);
            let policy = policy();
            let dry = c
                .purge(
                    &policy,
                    PurgeOptions {
                        purpose: None,
                        held: None,
                        today: today(),
                        batch: 2,
                        dry_run: true,
                    },
                    &mut customer_resolver(),
                )
                .unwrap();
            let predicted: BTreeMap<String, u64> =
                dry.iter().map(|t| (t.table.clone(), t.rows)).collect();
            assert_eq!(
                remaining(&c, "camera_serial_number", &["S1", "S2", "S3", "S4", "S5"]),
                5,
                "a dry run changes nothing"
            );
            let real = c
                .purge(
                    &policy,
                    PurgeOptions {
                        purpose: None,
                        held: None,
                        today: today(),
                        batch: 2,
                        dry_run: false,
                    },
                    &mut customer_resolver(),
                )
                .unwrap();
            let done: BTreeMap<String, u64> =
                real.iter().map(|t| (t.table.clone(), t.rows)).collect();
            assert_eq!(
                done, predicted,
                "{}: the dry run predicts the real run",
                site.url
            );
            // After-sales: 5 years for a customer, 3 otherwise; the serial numbers name the rows.
            assert_eq!(
                remaining(&c, "camera_serial_number", &["S1"]),
                0,
                "stranger, past 5 years"
            );
            assert_eq!(
                remaining(&c, "camera_serial_number", &["S2"]),
                1,
                "customer, just inside 5 years"
            );
            assert_eq!(
                remaining(&c, "camera_serial_number", &["S3"]),
                0,
                "stranger, just past 3 years"
            );
            assert_eq!(
                remaining(&c, "camera_serial_number", &["S4"]),
                1,
                "stranger, just inside 3 years"
            );
            assert_eq!(
                remaining(&c, "camera_serial_number", &["S5"]),
                1,
                "customer, 4 years"
            );
            assert_eq!(done["support_tickets"], 2);
            assert_eq!(done["inquiries"], 1, "3 years from the request");
            assert_eq!(
                done["technical_newsletter"], 1,
                "until unsubscription: the day after"
            );
            assert_eq!(done["commercial_newsletter"], 1);
            let commercial = real
                .iter()
                .find(|t| t.table == "commercial_newsletter")
                .unwrap();
            assert_eq!(
                commercial.children,
                vec![("consent_records".to_owned(), 1)],
                "the consent record goes with its subscription"
            );
            assert_eq!(done["blog_comments"], 1, "5 years from publication");
            assert_eq!(done["site_admins"], 1, "until the end of the role");
            assert_eq!(
                remaining(&c, "email", &["b@example.test"]),
                5,
                "{}: inquiry, both newsletters, consent record, comment",
                site.url
            );
            assert!(
                real.iter()
                    .filter(|t| t.rows > 0)
                    .all(|t| t.batches >= 1 && t.longest_batch_ms >= 0.0)
            );
            // A second run purges nothing more.
            let again = c
                .purge(
                    &policy,
                    PurgeOptions {
                        purpose: None,
                        held: None,
                        today: today(),
                        batch: 2,
                        dry_run: false,
                    },
                    &mut customer_resolver(),
                )
                .unwrap();
            assert!(again.iter().all(|t| t.rows == 0), "{again:?}");
        }
    }

    #[test]
    fn expired_orders_go_with_their_lines_invoices_and_deliveries_and_logs_after_twelve_months() {
        let shop = "
INSERT INTO customers (id, email, first_name, last_name, company_name, phone, address, delivery_address, created_at, restricted) VALUES
 (1, 'ann@example.test', 'Ann', 'M', NULL, 'p', 'a', NULL, '2010-01-01 10:00:00', FALSE);
INSERT INTO orders (id, customer_id, ordered_at, delivered_at, status, total_cents) VALUES
 (10, 1, '2016-11-01 10:00:00', '2016-11-26 10:00:00', 'delivered', 1), (11, 1, '2016-11-02 10:00:00', '2016-11-27 10:00:00', 'delivered', 2),
 (12, 1, '2010-11-02 10:00:00', NULL, 'paid', 3);
INSERT INTO order_lines (id, order_id, product, quantity, unit_price_cents) VALUES (100, 10, 'x', 1, 1), (110, 11, 'y', 1, 2);
INSERT INTO invoices (id, order_id, number, issued_at, amount_cents, billing_name, billing_address) VALUES (1000, 10, 'F1', '2016-11-01 10:00:00', 1, 'n', 'a');
INSERT INTO deliveries (id, order_id, carrier, tracking_number, address, shipped_at) VALUES (5000, 10, 'c', 't', 'a', '2016-11-03 10:00:00');
";
        for site in sites(
            &[Dialect::Postgres, Dialect::Sqlite],
            "shop.postgres.sql",
            shop,
        ) {
            let c = open("shop", &site);
            let report = c
                .purge(
                    &policy(),
                    PurgeOptions {
                        purpose: None,
                        held: None,
                        today: today(),
                        batch: 10,
                        dry_run: false,
                    },
                    &mut customer_resolver(),
                )
                .unwrap();
            let orders = report.iter().find(|t| t.table == "orders").unwrap();
            assert_eq!(
                orders.rows, 1,
                "{}: only the order delivered more than 10 years ago",
                site.url
            );
            let mut children = orders.children.clone();
            children.sort();
            assert_eq!(
                children,
                vec![
                    ("deliveries".to_owned(), 1),
                    ("invoices".to_owned(), 1),
                    ("order_lines".to_owned(), 1)
                ]
            );
            // The customer still has orders: swept after them, and kept.
            let customers = report.iter().find(|t| t.table == "customers").unwrap();
            assert_eq!((customers.rows, customers.skipped.as_deref()), (0, None));
            assert_eq!(
                report.last().map(|t| t.table.as_str()),
                Some("customers"),
                "parents whose date is in their children are swept after them"
            );
            assert_eq!(
                remaining(&c, "customer_id", &["1"]),
                1 + 2 + 1,
                "customer, the two other orders, one line"
            );
        }
        let logs = "
INSERT INTO access_log (id, ip_address, ts, method, path, user_agent, status) VALUES
 (1, '203.0.113.7', '2025-11-26 23:59:59', 'GET', '/', 'F', 200), (2, '203.0.113.7', '2025-11-27 00:00:00', 'GET', '/', 'F', 200);
";
        for site in sites(
            &[Dialect::Sqlite, Dialect::Postgres],
            "logs.sqlite.sql",
            logs,
        ) {
            let c = open("logs", &site);
            let report = c
                .purge(
                    &policy(),
                    PurgeOptions {
                        purpose: None,
                        held: None,
                        today: today(),
                        batch: 1000,
                        dry_run: false,
                    },
                    &mut customer_resolver(),
                )
                .unwrap();
            assert_eq!(report[0].rows, 1, "{}", site.url);
            assert_eq!(
                report[0].cutoffs,
                vec![(
                    rightful_core::retention::StartEvent::Collection,
                    "2025-11-26".parse().unwrap()
                )]
            );
            assert_eq!(remaining(&c, "ip_address", &["203.0.113.7"]), 1);
        }
    }
}
