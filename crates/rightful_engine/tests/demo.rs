//! `rightful demo seed` on real databases: the demo site is created and filled deterministically,
//! its maps fit, and a subject's footprint follows the documented rules.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use rightful_connectors::sql::Dialect;
use rightful_connectors::testing::TestSite;
use rightful_connectors::{Connector, Identities};
use rightful_engine::demo::{SeedOptions, seed_store};
use rightful_engine::settings::Settings;
use rightful_engine::stores::{self, Store};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn demo_stores() -> Vec<Store> {
    let mut settings = Settings::default();
    settings.policy.dir = root().join("config/policy");
    settings.stores.dir = root().join("config/stores");
    let policy = rightful_engine::policy::load_dir(&settings.policy.dir)
        .unwrap()
        .policy;
    stores::load(&settings, &policy).unwrap()
}

fn opts() -> SeedOptions {
    SeedOptions {
        scale: 3000,
        logs_per_subject: 2,
        chunk: 700,
        reset: false,
        if_missing: false,
    }
}

/// Seeds the three stores on the given backends; returns the sites (kept alive) and connectors.
fn seeded(backends: [Dialect; 3]) -> Option<(Vec<TestSite>, Vec<Connector>)> {
    let mut sites = Vec::new();
    let mut connectors = Vec::new();
    for (mut store, dialect) in demo_stores().into_iter().zip(backends) {
        // `demo_stores` is sorted by name: cms, logs, shop.
        let site = match TestSite::new(dialect, "SELECT 1") {
            Some(s) => s.unwrap(),
            None => {
                assert!(
                    std::env::var("CI").is_err(),
                    "CI must run the {dialect:?} demo tests"
                );
                return None;
            }
        };
        store.url = site.url.clone();
        let mut calls = 0;
        let done = seed_store(&store, &root().join("demo"), &opts(), &mut |_, _| {
            calls += 1
        })
        .unwrap();
        assert!(
            !done.skipped && calls >= 4,
            "{}: progress reported per chunk",
            store.map.name
        );
        // A second seed without --reset refuses; with --if-missing it leaves the store alone.
        assert!(seed_store(&store, &root().join("demo"), &opts(), &mut |_, _| {}).is_err());
        let kept = seed_store(
            &store,
            &root().join("demo"),
            &SeedOptions {
                if_missing: true,
                ..opts()
            },
            &mut |_, _| {},
        )
        .unwrap();
        assert!(kept.skipped);
        connectors.push(Connector::open(store.map.clone(), &store.url, b"k".to_vec()).unwrap());
        sites.push(site);
    }
    Some((sites, connectors))
}

fn footprint(connectors: &[Connector], email: &str, ip: &str) -> BTreeSet<String> {
    let mut ids = Identities::new();
    ids.entry("email".into()).or_default().insert(email.into());
    ids.entry("ip_address".into())
        .or_default()
        .insert(ip.into());
    let mut purposes = BTreeSet::new();
    for c in connectors {
        for h in c.discover(&ids).unwrap().hits {
            purposes.insert(h.purpose.to_string());
        }
    }
    purposes
}

#[test]
fn the_demo_site_seeds_on_the_real_servers_and_footprints_overlap_as_documented() {
    for backends in [
        [Dialect::Mysql, Dialect::Sqlite, Dialect::Postgres],
        [Dialect::Sqlite, Dialect::Sqlite, Dialect::Sqlite],
    ] {
        let Some((_sites, connectors)) = seeded(backends) else {
            continue;
        };
        // 2640 is divisible by 3, 4, 5, 10 and 11, and 2640 % 7 = 1: every purpose but administration.
        let everywhere = footprint(&connectors, "user2640@example.test", "100.0.10.80");
        let expected: BTreeSet<String> = [
            "orders",
            "technical_newsletter",
            "commercial_newsletter",
            "blog_comments",
            "inquiries",
            "after_sales",
            "site_technical",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        assert_eq!(everywhere, expected, "{backends:?}");
        assert_eq!(
            footprint(&connectors, "user1@example.test", "100.0.0.1"),
            ["inquiries", "site_administration", "site_technical"]
                .into_iter()
                .map(str::to_owned)
                .collect()
        );
        // Known only by IP: subjects past the scale have logs and nothing else.
        assert_eq!(
            footprint(&connectors, "user3100@example.test", "100.0.12.28"),
            ["site_technical"].into_iter().map(str::to_owned).collect()
        );
        assert!(footprint(&connectors, "nobody@example.test", "192.0.2.1").is_empty());
    }
}
