//! Issue 12 item 7: the real servers' errors reduce to their code and class; the driver's text,
//! which quotes values, is read only to tell codes apart and never kept.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use diesel::r2d2::ManageConnection;
use rightful_connectors::StoreErrorClass::{self, Permanent, Transient};
use rightful_connectors::class::code_of;
use rightful_connectors::sql::{Bind, Dialect, Manager, SiteConn};
use rightful_connectors::testing::TestSite;

const SCHEMA: &str =
    "CREATE TABLE subscribers (id INTEGER PRIMARY KEY, email VARCHAR(100) NOT NULL UNIQUE);
INSERT INTO subscribers (id, email) VALUES (1, 'bob@example.test')";

fn site(dialect: Dialect) -> Option<TestSite> {
    let s = TestSite::new(dialect, SCHEMA)?;
    Some(s.unwrap())
}

fn conn(url: &str) -> SiteConn {
    Manager { url: url.into() }.connect().unwrap()
}

/// Runs `sql` and returns the code and class of its error, checking that the driver's text
/// quoted the value and the code does not.
fn failing(
    dialect: Dialect,
    c: &mut SiteConn,
    sql: &str,
    binds: &[Bind],
) -> (String, StoreErrorClass) {
    let e = c.exec().run(sql, binds).unwrap_err();
    let code = code_of(dialect, &e);
    assert!(!code.contains("bob") && !code.contains("alice"), "{code}");
    (code.clone(), StoreErrorClass::of_code(&code))
}

fn duplicate_and_not_null_and_syntax(dialect: Dialect, url: &str, want: [&str; 3]) {
    let mut c = conn(url);
    let dup = dialect_sql(dialect, "INSERT INTO subscribers (id, email) VALUES (2, ?)");
    let (code, class) = failing(
        dialect,
        &mut c,
        &dup,
        &[Bind::Text("bob@example.test".into())],
    );
    assert_eq!((code.as_str(), class), (want[0], Permanent));
    let (code, class) = failing(
        dialect,
        &mut c,
        "INSERT INTO subscribers (id, email) VALUES (3, NULL)",
        &[],
    );
    assert_eq!((code.as_str(), class), (want[1], Permanent));
    let (code, class) = failing(
        dialect,
        &mut c,
        "UPDATE subscribers SETT email = 'alice'",
        &[],
    );
    assert_eq!((code.as_str(), class), (want[2], Permanent));
}

fn dialect_sql(dialect: Dialect, sql: &str) -> String {
    match dialect {
        Dialect::Postgres => sql.replace('?', "$1"),
        Dialect::Mysql | Dialect::Sqlite => sql.to_owned(),
    }
}

#[test]
fn mariadb_errors_give_their_error_number_and_class() {
    let Some(site) = site(Dialect::Mysql) else {
        return;
    };
    // The text would be "Duplicate entry 'bob@example.test' for key 'email'".
    duplicate_and_not_null_and_syntax(
        Dialect::Mysql,
        &site.url,
        ["mysql:1062", "mysql:1048", "mysql:1064"],
    );
    // The premise: the driver's own text quotes the value; the code does not.
    let e = conn(&site.url)
        .exec()
        .run(
            "INSERT INTO subscribers (id, email) VALUES (9, ?)",
            &[Bind::Text("bob@example.test".into())],
        )
        .unwrap_err();
    assert!(e.to_string().contains("'bob@example.test'"), "{e}");
    assert_eq!(code_of(Dialect::Mysql, &e), "mysql:1062");
    // A row locked by another transaction: the lock wait times out (1205), transient.
    let mut holder = conn(&site.url);
    let mut waiter = conn(&site.url);
    holder
        .exec()
        .run("SET SESSION innodb_lock_wait_timeout = 1", &[])
        .unwrap();
    waiter
        .exec()
        .run("SET SESSION innodb_lock_wait_timeout = 1", &[])
        .unwrap();
    holder.exec().run("START TRANSACTION", &[]).unwrap();
    holder
        .exec()
        .run(
            "UPDATE subscribers SET email = 'alice@example.test' WHERE id = 1",
            &[],
        )
        .unwrap();
    let (code, class) = failing(
        Dialect::Mysql,
        &mut waiter,
        "UPDATE subscribers SET email = 'carol@example.test' WHERE id = 1",
        &[],
    );
    assert_eq!((code.as_str(), class), ("mysql:1205", Transient));
    holder.exec().run("ROLLBACK", &[]).unwrap();
}

#[test]
fn postgres_errors_give_their_sqlstate_and_class() {
    let Some(site) = site(Dialect::Postgres) else {
        return;
    };
    duplicate_and_not_null_and_syntax(
        Dialect::Postgres,
        &site.url,
        ["pg:23505", "pg:23502", "pg:42601"],
    );
    let mut c = conn(&site.url);
    // A statement timeout (57014) and a lock timeout (55P03) are transient.
    c.exec().run("SET statement_timeout = '50ms'", &[]).unwrap();
    let (code, class) = failing(Dialect::Postgres, &mut c, "SELECT pg_sleep(2)", &[]);
    assert_eq!((code.as_str(), class), ("pg:57014", Transient));
    c.exec().run("SET statement_timeout = 0", &[]).unwrap();
    let mut holder = conn(&site.url);
    holder.exec().run("BEGIN", &[]).unwrap();
    holder
        .exec()
        .run(
            "UPDATE subscribers SET email = 'alice@example.test' WHERE id = 1",
            &[],
        )
        .unwrap();
    c.exec().run("SET lock_timeout = '50ms'", &[]).unwrap();
    let (code, class) = failing(
        Dialect::Postgres,
        &mut c,
        "UPDATE subscribers SET email = 'carol@example.test' WHERE id = 1",
        &[],
    );
    assert_eq!((code.as_str(), class), ("pg:55P03", Transient));
    holder.exec().run("ROLLBACK", &[]).unwrap();
    let (code, class) = failing(Dialect::Postgres, &mut c, "SELECT * FROM nowhere", &[]);
    assert_eq!((code.as_str(), class), ("pg:42P01", Permanent));
}

#[test]
fn sqlite_errors_give_their_extended_code_and_class() {
    let site = site(Dialect::Sqlite).unwrap();
    duplicate_and_not_null_and_syntax(
        Dialect::Sqlite,
        &site.url,
        ["sqlite:2067", "sqlite:1299", "sqlite:1"],
    );
    // Another connection holds the write lock: SQLITE_BUSY once the busy timeout is spent.
    let mut holder = conn(&site.url);
    let mut waiter = conn(&site.url);
    holder.exec().run("BEGIN IMMEDIATE", &[]).unwrap();
    waiter.exec().run("PRAGMA busy_timeout = 50", &[]).unwrap();
    let (code, class) = failing(
        Dialect::Sqlite,
        &mut waiter,
        "UPDATE subscribers SET email = 'carol@example.test' WHERE id = 1",
        &[],
    );
    assert_eq!((code.as_str(), class), ("sqlite:5", Transient));
    holder.exec().run("ROLLBACK", &[]).unwrap();
}

/// Issue 12 item 7: a store that cannot be reached gives a `connect:…` code, transient (the
/// request waits for it); the driver's text (host, port, database user) is not kept.
#[test]
fn unreachable_stores_give_a_transient_connect_code() {
    for (url, want) in [
        ("postgres://nobody@127.0.0.1:1/none", "connect:refused"),
        ("mysql://nobody@127.0.0.1:1/none", "connect:refused"),
        ("/nonexistent-dir/x/site.sqlite3", "connect:file"),
    ] {
        let dialect = Dialect::of_url(url);
        let e = Manager { url: url.into() }.connect().err().unwrap();
        let code = e.code(dialect);
        assert_eq!(code, want, "{url}: {e}");
        assert_eq!(StoreErrorClass::of_code(&code), Transient);
    }
    assert_eq!(StoreErrorClass::of_code("connect:url"), Permanent);
}
