//! Issue 13 item 1: the MySQL/MariaDB connector runs on the pure-Rust `mysql` driver — no C
//! client library in the build or in the process — with real prepared-statement parameters, both
//! URL schemes, and error codes from the server's error number on a real MariaDB.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use diesel::r2d2::ManageConnection;
use rightful_connectors::StoreErrorClass::{self, Permanent, Transient};
use rightful_connectors::class::code_of;
use rightful_connectors::sql::{Bind, Dialect, Manager, SiteConn};
use rightful_connectors::testing::TestSite;
use std::path::Path;

const SCHEMA: &str = "CREATE TABLE notes (id INTEGER PRIMARY KEY, body VARCHAR(200) NOT NULL);
INSERT INTO notes (id, body) VALUES (1, 'one');
INSERT INTO notes (id, body) VALUES (2, 'two')";

fn site() -> Option<TestSite> {
    Some(TestSite::new(Dialect::Mysql, SCHEMA)?.unwrap())
}

fn conn(url: &str) -> SiteConn {
    Manager { url: url.into() }.connect().unwrap()
}

/// The code and class of a failed statement.
fn failure(c: &mut SiteConn, sql: &str) -> (String, StoreErrorClass) {
    let e = c.exec().run(sql, &[]).unwrap_err();
    let code = code_of(Dialect::Mysql, &e);
    let class = StoreErrorClass::of_code(&code);
    (code, class)
}

/// Issue 13 item 1: no C MySQL client is part of the build (the lock file, which `cargo` builds
/// from, names none) and none is loaded in this process, which links the connectors.
#[test]
fn issue13_item1_no_c_mysql_client_is_built_or_loaded() {
    let lock =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.lock"))
            .unwrap();
    let packages: Vec<&str> = lock
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .collect();
    assert!(packages.contains(&"mysql"), "the pure-Rust driver is used");
    for forbidden in [
        "mysqlclient-sys",
        "mysqlclient-src",
        "mysql-sys",
        "mariadb-sys",
    ] {
        assert!(
            !packages.contains(&forbidden),
            "{forbidden} is in Cargo.lock"
        );
    }
    // The libraries this test process has mapped: neither libmysqlclient nor libmariadb.
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    assert!(
        !maps.contains("libmysqlclient") && !maps.contains("libmariadb"),
        "a C MySQL client library is loaded"
    );
}

/// Issue 13 item 1: `mariadb://` and `mysql://` both open the store; values are sent as
/// prepared-statement parameters, so quotes, `?`, backslashes and comment markers arrive
/// verbatim and an injection-shaped value matches nothing.
#[test]
fn issue13_item1_both_schemes_connect_and_values_are_bound_never_spliced() {
    let Some(site) = site() else {
        return;
    };
    let mariadb_url = site.url.replacen("mysql://", "mariadb://", 1);
    assert!(mariadb_url.starts_with("mariadb://"), "{}", site.url);
    let tricky = "it's a ? \\' \"quoted\" -- value; DROP TABLE notes; /*";
    let mut c = conn(&mariadb_url);
    assert_eq!(
        c.exec()
            .run(
                "INSERT INTO notes (id, body) VALUES (?, ?)",
                &[Bind::Int(3), Bind::Text(tricky.into())],
            )
            .unwrap(),
        1
    );
    let mut c = conn(&site.url);
    let docs = c
        .exec()
        .docs(
            "SELECT CAST(JSON_OBJECT('body', body) AS CHAR) AS doc FROM notes WHERE id = ?",
            &[Bind::Int(3)],
        )
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&docs[0]).unwrap();
    assert_eq!(body["body"], tricky);
    let injected = c
        .exec()
        .docs(
            "SELECT CAST(JSON_OBJECT('id', id) AS CHAR) AS doc FROM notes WHERE body = ?",
            &[Bind::Text("x' OR '1'='1".into())],
        )
        .unwrap();
    assert!(injected.is_empty(), "{injected:?}");
    // Affected rows count the rows matched, as with diesel (`CLIENT_FOUND_ROWS`): setting a row
    // to the value it already has still counts it.
    assert_eq!(
        c.exec()
            .run(
                "UPDATE notes SET body = ? WHERE id = ?",
                &[Bind::Text("one".into()), Bind::Int(1)],
            )
            .unwrap(),
        1
    );
    // One transaction: a failure inside rolls back what came before it.
    let r: Result<(), rightful_connectors::sql::DbError> = c.transaction(|t| {
        t.run("DELETE FROM notes WHERE id = 2", &[])?;
        t.run("INSERT INTO notes (id, body) VALUES (1, 'dup')", &[])?;
        Ok(())
    });
    assert_eq!(code_of(Dialect::Mysql, &r.unwrap_err()), "mysql:1062");
    assert_eq!(
        c.exec()
            .docs(
                "SELECT CAST(JSON_OBJECT('n', COUNT(*)) AS CHAR) AS doc FROM notes WHERE id = 2",
                &[],
            )
            .unwrap(),
        vec![r#"{"n": 1}"#.to_owned()]
    );
}

/// Issue 13 item 1: a deadlock (1213) is transient, a missing privilege (1142) permanent, and a
/// connection the server killed gives a transient code; every code is the server's error number
/// as the driver received it.
#[test]
fn issue13_item1_mariadb_deadlocks_privileges_and_lost_connections_give_their_errno() {
    let Some(site) = site() else {
        return;
    };
    // Deadlock: each transaction holds the row the other one wants.
    let (mut a, mut b) = (conn(&site.url), conn(&site.url));
    for c in [&mut a, &mut b] {
        c.exec()
            .run("SET SESSION innodb_lock_wait_timeout = 10", &[])
            .unwrap();
        c.exec().run("START TRANSACTION", &[]).unwrap();
    }
    a.exec()
        .run("UPDATE notes SET body = 'a' WHERE id = 1", &[])
        .unwrap();
    b.exec()
        .run("UPDATE notes SET body = 'b' WHERE id = 2", &[])
        .unwrap();
    let waiting = std::thread::spawn(move || {
        let r = a
            .exec()
            .run("UPDATE notes SET body = 'a' WHERE id = 2", &[])
            .map_err(|e| code_of(Dialect::Mysql, &e));
        let _ = a.exec().run("ROLLBACK", &[]);
        r
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mine = b
        .exec()
        .run("UPDATE notes SET body = 'b' WHERE id = 1", &[])
        .map_err(|e| code_of(Dialect::Mysql, &e));
    let _ = b.exec().run("ROLLBACK", &[]);
    let theirs = waiting.join().unwrap();
    let codes: Vec<String> = [mine, theirs].into_iter().filter_map(Result::err).collect();
    assert_eq!(codes, vec!["mysql:1213".to_owned()], "one victim");
    assert_eq!(StoreErrorClass::of_code(&codes[0]), Transient);

    // A user who may only read: an UPDATE is refused with 1142, permanent.
    let db = site.url.rsplit('/').next().unwrap().to_owned();
    let user = format!("ro{}", std::process::id());
    let mut admin = conn(&site.url);
    admin
        .exec()
        .run(
            &format!("CREATE USER '{user}'@'%' IDENTIFIED BY 'pw-{user}'"),
            &[],
        )
        .unwrap();
    admin
        .exec()
        .run(&format!("GRANT SELECT ON `{db}`.* TO '{user}'@'%'"), &[])
        .unwrap();
    let host = site
        .url
        .split_once('@')
        .map_or_else(|| site.url.split_once("://").unwrap().1, |(_, host)| host);
    let mut reader = conn(&format!("mysql://{user}:pw-{user}@{host}"));
    let refused = failure(&mut reader, "UPDATE notes SET body = 'x' WHERE id = 1");
    admin
        .exec()
        .run(&format!("DROP USER '{user}'@'%'"), &[])
        .unwrap();
    assert_eq!(refused, ("mysql:1142".to_owned(), Permanent));

    // A connection the server killed: the next statement fails with a transient code.
    let mut victim = conn(&site.url);
    let id = victim
        .exec()
        .docs(
            "SELECT CAST(JSON_OBJECT('id', CONNECTION_ID()) AS CHAR) AS doc",
            &[],
        )
        .unwrap();
    let id: serde_json::Value = serde_json::from_str(&id[0]).unwrap();
    admin
        .exec()
        .run(&format!("KILL {}", id["id"].as_u64().unwrap()), &[])
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let (code, class) = failure(&mut victim, "SELECT 1");
    assert!(
        ["mysql:1927", "mysql:2006", "mysql:2013"].contains(&code.as_str()),
        "{code}"
    );
    assert_eq!(class, Transient, "{code}");
    // The pool would not hand it out again.
    assert!(
        Manager {
            url: site.url.clone()
        }
        .is_valid(&mut victim)
        .is_err()
    );
}
