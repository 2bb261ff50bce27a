//! Store tests: every test runs on SQLite, and on PostgreSQL too when `RIGHTFUL_TEST_PG_URL` is
//! set (`make test` sets it); each uses a database of its own.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

use chrono::{NaiveDate, TimeZone, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use rightful_core::audit::{EntryContent, Tamper};
use rightful_core::lifecycle::Status;
use rightful_store::models::{audit, request};
use rightful_store::testing::TestDb;
use rightful_store::{DbConn, Store};

fn databases() -> Vec<TestDb> {
    let mut dbs = vec![TestDb::sqlite().expect("sqlite test db")];
    if let Some(pg) = TestDb::postgres() {
        dbs.push(pg.expect("create a PostgreSQL test database"));
    }
    dbs
}

fn content(n: i64) -> EntryContent {
    EntryContent {
        at: Utc.timestamp_opt(1_780_000_000 + n, 123_456_789).unwrap(),
        actor: "dpo:alice".into(),
        action: "request.approved".into(),
        target: format!("req-{n}"),
        reason: "checked".into(),
        details: serde_json::json!({"n": n}),
    }
}

fn at(s: &str) -> chrono::NaiveDateTime {
    format!("{s}T09:30:00").parse().unwrap()
}

#[test]
fn a_request_is_stored_and_moves_through_allowed_states_only() {
    for db in databases() {
        let store = db.store().unwrap();
        store
            .with_conn(|c| {
                let new = request::NewRequest {
                    id: "7f0c1b5e-0000-4000-8000-000000000001",
                    kind: "erasure",
                    status: Status::Received.as_str(),
                    channel: "web",
                    received_at: at("2025-03-05"),
                    due_on: NaiveDate::from_ymd_opt(2025, 4, 7).unwrap(),
                    extended: false,
                    updated_at: at("2025-03-05"),
                };
                request::insert(c, &new, "subject")?;
                let ok = request::transition(
                    c,
                    new.id,
                    Status::AwaitingReview,
                    "system",
                    "identity verified",
                    at("2025-03-06"),
                )?;
                assert_eq!(ok, Ok(Status::AwaitingReview));
                let refused = request::transition(
                    c,
                    new.id,
                    Status::Completed,
                    "dpo:alice",
                    "",
                    at("2025-03-07"),
                )?;
                assert!(
                    refused.is_err(),
                    "{}: awaiting_review → completed must be refused",
                    db.url
                );
                let row = request::find(c, new.id)?.unwrap();
                assert_eq!(row.status()?, Status::AwaitingReview);
                assert_eq!(
                    row.received_at,
                    at("2025-03-05"),
                    "A1: receipt time is unchanged"
                );
                let events = request::events(c, new.id)?;
                let path: Vec<&str> = events.iter().map(|e| e.to_status.as_str()).collect();
                assert_eq!(path, ["received", "awaiting_review"]);
                assert_eq!(
                    request::list(
                        c,
                        &request::Filter {
                            statuses: vec![Status::AwaitingReview],
                            ..Default::default()
                        }
                    )?
                    .len(),
                    1
                );
                assert!(
                    request::list(
                        c,
                        &request::Filter {
                            statuses: vec![Status::Denied],
                            ..Default::default()
                        }
                    )?
                    .is_empty()
                );
                Ok(())
            })
            .unwrap();
    }
}

#[test]
fn f2_appended_entries_chain_and_verify_across_batches() {
    for db in databases() {
        let store = db.store().unwrap();
        store
            .with_conn(|c| {
                audit::append(c, (1..=3).map(content).collect())?;
                audit::append(c, vec![content(4)])?;
                audit::append(c, Vec::new())?;
                let all = audit::between(c, None, None)?;
                assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3, 4]);
                assert_eq!(all[3].prev_hash, all[2].hash);
                assert_eq!(audit::head(c)?, (4, all[3].hash.clone()));
                let v = audit::verify(c)?;
                assert!(v.ok(), "{}: {:?}", db.url, v.problems);
                assert_eq!(v.entries, 4);
                Ok(())
            })
            .unwrap();
    }
}

#[test]
fn f2_the_database_refuses_to_update_or_delete_an_audit_entry() {
    for db in databases() {
        let store = db.store().unwrap();
        store
            .with_conn(|c| {
                audit::append(c, vec![content(1)])?;
                use rightful_store::schema::audit_entries::dsl as a;
                let upd = diesel::update(a::audit_entries.find(1))
                    .set(a::reason.eq("forged"))
                    .execute(c);
                assert!(upd.is_err(), "{}: an UPDATE must be refused", db.url);
                let del = diesel::delete(a::audit_entries.find(1)).execute(c);
                assert!(del.is_err(), "{}: a DELETE must be refused", db.url);
                assert!(audit::verify(c)?.ok());
                Ok(())
            })
            .unwrap();
    }
}

// Issue 12 item 10: a signed head is kept as written; only its delivery time may be recorded.
#[test]
fn the_database_refuses_to_change_or_delete_an_anchor_but_records_its_delivery() {
    use rightful_store::models::audit_anchor::{self, AnchorRow};
    for db in databases() {
        let store = db.store().unwrap();
        store
            .with_conn(|c| {
                let row = AnchorRow {
                    seq: 1,
                    hash: "ab".repeat(32),
                    signed_at: Utc::now().naive_utc(),
                    jws: "a.b.c".into(),
                    sent_at: None,
                };
                assert!(audit_anchor::insert(c, &row)?);
                assert!(
                    !audit_anchor::insert(c, &row)?,
                    "{}: one per position",
                    db.url
                );
                use rightful_store::schema::audit_anchors::dsl as a;
                let upd = diesel::update(a::audit_anchors.find(1))
                    .set(a::jws.eq("x.y.z"))
                    .execute(c);
                assert!(upd.is_err(), "{}: an UPDATE must be refused", db.url);
                let del = diesel::delete(a::audit_anchors.find(1)).execute(c);
                assert!(del.is_err(), "{}: a DELETE must be refused", db.url);
                audit_anchor::mark_sent(c, 1, Utc::now().naive_utc())?;
                let kept = audit_anchor::all(c)?;
                assert_eq!(kept.len(), 1);
                assert_eq!(kept[0].jws, "a.b.c");
                assert!(kept[0].sent_at.is_some());
                assert!(audit_anchor::unsent(c, 10)?.is_empty());
                Ok(())
            })
            .unwrap();
    }
}

/// Lifts the append-only triggers, as an attacker with DDL rights could, so the chain itself
/// must catch the change.
fn drop_guards(c: &mut DbConn) {
    match c {
        DbConn::Sqlite(c) => c
            .batch_execute(
                "DROP TRIGGER audit_entries_no_update; DROP TRIGGER audit_entries_no_delete;",
            )
            .unwrap(),
        DbConn::Pg(c) => c
            .batch_execute("ALTER TABLE audit_entries DISABLE TRIGGER USER")
            .unwrap(),
    }
}

fn tampered(store: &Store, tamper: impl FnOnce(&mut DbConn)) -> Vec<Tamper> {
    store
        .with_conn(|c| {
            audit::append(c, (1..=5).map(content).collect())?;
            drop_guards(c);
            tamper(c);
            Ok(audit::verify(c)?.problems)
        })
        .unwrap()
}

#[test]
fn f2_audit_verify_names_each_kind_of_tampering_in_the_database() {
    use rightful_store::schema::audit_entries::dsl as a;
    for db in databases() {
        let altered = tampered(&db.store().unwrap(), |c| {
            diesel::update(a::audit_entries.find(2))
                .set(a::reason.eq("nothing to see"))
                .execute(c)
                .unwrap();
        });
        assert_eq!(altered, vec![Tamper::Altered { seq: 2 }], "{}", db.url);
    }
    for db in databases() {
        let deleted = tampered(&db.store().unwrap(), |c| {
            diesel::delete(a::audit_entries.find(3)).execute(c).unwrap();
        });
        assert_eq!(
            deleted,
            vec![Tamper::Deleted {
                before_seq: 4,
                missing: 1
            }],
            "{}",
            db.url
        );
    }
    for db in databases() {
        let truncated = tampered(&db.store().unwrap(), |c| {
            diesel::delete(a::audit_entries.filter(a::seq.ge(4)))
                .execute(c)
                .unwrap();
        });
        assert_eq!(
            truncated,
            vec![Tamper::Truncated {
                last_seq: 3,
                head_seq: 5
            }],
            "{}",
            db.url
        );
    }
    for db in databases() {
        let reordered = tampered(&db.store().unwrap(), |c| {
            // Swap the positions of entries 2 and 3.
            diesel::update(a::audit_entries.find(2))
                .set(a::seq.eq(-2))
                .execute(c)
                .unwrap();
            diesel::update(a::audit_entries.find(3))
                .set(a::seq.eq(2))
                .execute(c)
                .unwrap();
            diesel::update(a::audit_entries.find(-2))
                .set(a::seq.eq(3))
                .execute(c)
                .unwrap();
        });
        assert!(
            !reordered.is_empty()
                && reordered
                    .iter()
                    .all(|t| matches!(t, Tamper::Reordered { .. })),
            "{}: {reordered:?}",
            db.url
        );
    }
    for db in databases() {
        let inserted = tampered(&db.store().unwrap(), |c| {
            // Shift 4 and 5 up, then slip a forged entry in at 4 that links to entry 3.
            diesel::update(a::audit_entries.find(5))
                .set(a::seq.eq(6))
                .execute(c)
                .unwrap();
            diesel::update(a::audit_entries.find(4))
                .set(a::seq.eq(5))
                .execute(c)
                .unwrap();
            let prev: String = a::audit_entries.find(3).select(a::hash).first(c).unwrap();
            let forged = rightful_core::audit::chain(3, &prev, vec![content(99)]).remove(0);
            diesel::insert_into(a::audit_entries)
                .values((
                    a::seq.eq(4i64),
                    a::at.eq(forged.content.at.naive_utc()),
                    a::actor.eq(&forged.content.actor),
                    a::action.eq(&forged.content.action),
                    a::target.eq(&forged.content.target),
                    a::reason.eq(&forged.content.reason),
                    a::details.eq(forged.content.details.to_string()),
                    a::prev_hash.eq(&forged.prev_hash),
                    a::hash.eq(&forged.hash),
                ))
                .execute(c)
                .unwrap();
        });
        // The head still says 5 entries with entry 5's hash; the table now has 6.
        assert!(
            inserted.contains(&Tamper::Inserted { seq: 4 }),
            "{}: {inserted:?}",
            db.url
        );
    }
}

#[test]
fn concurrent_appends_never_fork_the_chain() {
    for db in databases() {
        let store = db.store().unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for i in 0..10 {
                        store
                            .with_conn(|c| audit::append(c, vec![content(t * 100 + i)]))
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let v = store.with_conn(audit::verify).unwrap();
        assert!(v.ok(), "{}: {:?}", db.url, v.problems);
        assert_eq!(v.entries, 40);
    }
}

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Column {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    column_name: String,
}

#[expect(
    clippy::disallowed_methods,
    reason = "fixed catalogue queries, no input"
)]
fn columns(c: &mut DbConn) -> Vec<(String, String)> {
    let rows: Vec<Column> = match c {
        DbConn::Sqlite(c) => diesel::sql_query(
            "SELECT m.name AS table_name, p.name AS column_name FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '__diesel%'",
        )
        .load(c)
        .unwrap(),
        DbConn::Pg(c) => diesel::sql_query(
            "SELECT table_name::text AS table_name, column_name::text AS column_name FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name NOT LIKE '__diesel%'",
        )
        .load(c)
        .unwrap(),
    };
    let mut out: Vec<(String, String)> = rows
        .into_iter()
        .map(|r| (r.table_name, r.column_name))
        .collect();
    out.sort();
    out
}

#[test]
fn both_backends_migrate_to_the_tables_and_columns_schema_rs_declares() {
    let mut expected: Vec<(String, String)> = rightful_store::schema::TABLES
        .iter()
        .flat_map(|(t, cols)| cols.iter().map(move |c| ((*t).to_owned(), (*c).to_owned())))
        .collect();
    expected.sort();
    let dbs = databases();
    assert!(
        dbs.len() == 2 || std::env::var("CI").is_err(),
        "CI must run the PostgreSQL store tests: set RIGHTFUL_TEST_PG_URL"
    );
    for db in dbs {
        let got = db.store().unwrap().with_conn(|c| Ok(columns(c))).unwrap();
        assert_eq!(got, expected, "{}", db.url);
    }
}

#[derive(QueryableByName)]
struct Rule {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    delete_rule: String,
}

#[test]
#[expect(clippy::disallowed_methods, reason = "fixed catalogue query, no input")]
fn children_of_requests_cascade_and_the_audit_trail_has_no_foreign_key() {
    let Some(pg) = TestDb::postgres() else { return };
    let db = pg.unwrap();
    let rules: Vec<Rule> = db
        .store()
        .unwrap()
        .with_conn(|c| match c {
            DbConn::Pg(c) => Ok(diesel::sql_query(
                "SELECT tc.table_name::text AS table_name, rc.delete_rule::text AS delete_rule \
                 FROM information_schema.referential_constraints rc \
                 JOIN information_schema.table_constraints tc ON tc.constraint_name = rc.constraint_name",
            )
            .load(c)?),
            DbConn::Sqlite(_) => unreachable!(),
        })
        .unwrap();
    assert!(!rules.is_empty());
    for r in &rules {
        assert_ne!(r.table_name, "audit_entries");
        assert_eq!(
            r.delete_rule, "CASCADE",
            "{} must cascade from requests",
            r.table_name
        );
    }
}

#[test]
fn a_wrong_postgres_url_reports_the_real_connection_error() {
    let err = Store::open("postgres://nobody@127.0.0.1:1/none", 1)
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot connect"), "{err}");
    assert!(!err.contains("multiconnection"), "{err}");
}
