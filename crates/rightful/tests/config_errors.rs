//! Issue 13 item 5: configuration errors point at the line. Each test breaks one thing in a copy
//! of `config/` in a temporary directory, runs the real binary there, and asserts the message
//! (file, line, key, table, column, variable) and the exit status.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A copy of the shipped `config/` in a temporary directory, where the binary runs.
struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&root().join("config"), &dir.path().join("config"));
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Replaces the first `from` with `to` in `file` (relative to the site); returns the 1-based
    /// line where `to` now starts.
    fn edit(&self, file: &str, from: &str, to: &str) -> usize {
        let path = self.path().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let at = text
            .find(from)
            .unwrap_or_else(|| panic!("{file} lacks {from}"));
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        text[..at].matches('\n').count() + 1
    }

    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rightful"));
        cmd.args(args).current_dir(self.path());
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("RIGHTFUL_")) {
            cmd.env_remove(k);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(args, env).output().expect("run rightful")
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

// Issue 13 item 5: an unknown key in a purpose names its own line (it was one short).
#[test]
fn issue13_5_policy_unknown_key_names_its_own_line() {
    let site = Site::new();
    let line = site.edit(
        "config/policy/purposes/chat.toml",
        "\nname = ",
        "\ncolour = \"blue\"\nname = ",
    ) + 1;
    let out = site.run(&["policy", "check"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let needle = format!(
        "config/policy/purposes/chat.toml: purpose `chat`: field `line {line}`: unknown field `colour`"
    );
    assert!(text.contains(&needle), "missing `{needle}` in:\n{text}");
    assert!(text.contains("1 error(s)"), "{text}");
}

// Issue 13 item 5: a store map's unknown purpose gives one error (it gave four: its three child
// tables said their parent was not mapped), saying "store map" with file, line and table.
#[test]
fn issue13_5_store_map_unknown_purpose_gives_one_error_with_file_line_and_table() {
    let site = Site::new();
    let file = "config/stores/shop.toml";
    let line = site.edit(
        file,
        "[tables.orders]\npurpose = \"orders\"",
        "[tables.orders]\npurpose = \"order\"",
    ) + 1;
    let out = site.run(&["stores", "check"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "the store maps have 1 error(s):\n  - {file}:{line}: store map: table `orders`: `purpose`: purpose `order` is not declared in the policy\n"
        )
    );
}

// Issue 13 item 5: a column's mistake names the table, the column and its line.
#[test]
fn issue13_5_store_map_column_error_names_table_column_and_line() {
    let site = Site::new();
    let file = "config/stores/shop.toml";
    let line = site.edit(
        file,
        "phone = { category = \"identification\"",
        "phone = { category = \"identifcation\"",
    );
    let out = site.run(&["stores", "check"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "the store maps have 1 error(s):\n  - {file}:{line}: store map: table `customers`: column `phone`: category `identifcation` is not declared by purpose `orders`\n"
        )
    );
}

// Issue 13 item 5: `pool_size = "eight"` names the key and the line; from a variable, the
// variable and the key.
#[test]
fn issue13_5_settings_wrong_type_names_key_and_line_or_variable() {
    let site = Site::new();
    let line = site.edit(
        "config/rightful.toml",
        "pool_size = 8",
        "pool_size = \"eight\"",
    );
    let out = site.run(&["policy", "check"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "error: invalid settings (config/rightful.toml, line {line}): `storage.pool_size`: invalid type: string \"eight\", expected u32\n"
        )
    );
    let site = Site::new();
    let out = site.run(
        &["policy", "check"],
        &[("RIGHTFUL_STORAGE__POOL_SIZE", "eight")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: invalid settings (RIGHTFUL_STORAGE__POOL_SIZE): `storage.pool_size`: invalid type: string \"eight\", expected u32\n"
    );
}

// Issue 13 item 5: an unknown `mail.language` is refused at its line.
#[test]
fn issue13_5_unknown_mail_language_is_refused() {
    let site = Site::new();
    let line = site.edit(
        "config/rightful.toml",
        "language = \"en\"",
        "language = \"de\"",
    );
    let out = site.run(&["policy", "check"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "error: invalid settings (config/rightful.toml, line {line}): `mail.language`: `de` is not a template language: use en or fr\n"
        )
    );
}

// Issue 13 item 5: `postgress://` for the engine database is refused, naming the variable, not
// opened as a SQLite file of that name; the URL (and its password) is not repeated.
#[test]
fn issue13_5_unknown_scheme_for_the_engine_database_is_refused() {
    let site = Site::new();
    let out = site.run(
        &["migrate"],
        &[(
            "RIGHTFUL_STORAGE__DATABASE_URL",
            "postgress://rightful:s3cret@127.0.0.1:5432/rightful",
        )],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_eq!(
        stderr(&out),
        "error: cannot connect to the engine database: unknown URL scheme `postgress://` for the engine database: use postgres://, postgresql://, sqlite:// or a SQLite file path (URL from `storage.database_url`: RIGHTFUL_STORAGE__DATABASE_URL)\n"
    );
    let names: Vec<String> = std::fs::read_dir(site.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.starts_with("postgress")),
        "{names:?}"
    );
}

// Issue 13 item 5: `postgress://` for a site store is refused, naming the store and the variable.
#[test]
fn issue13_5_unknown_scheme_for_a_store_names_the_store_and_variable() {
    let site = Site::new();
    let out = site.run(
        &["stores", "check"],
        &[
            (
                "RIGHTFUL_STORE_SHOP_URL",
                "postgress://shop:s3cret@127.0.0.1:5432/shop",
            ),
            // The other stores at SQLite files, so that the check does not wait on servers.
            (
                "RIGHTFUL_STORE_CMS_URL",
                &site.path().join("cms.sqlite3").display().to_string(),
            ),
            (
                "RIGHTFUL_STORE_LOGS_URL",
                &site.path().join("logs.sqlite3").display().to_string(),
            ),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.lines().any(|l| l
            == "store `shop`: permanent invalid: unknown URL scheme `postgress://`: use postgres://, postgresql://, mysql://, mariadb://, sqlite:// or a SQLite file path (URL from RIGHTFUL_STORE_SHOP_URL)"),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
    // Seeding the demo site refuses it too, instead of filling a SQLite file of that name.
    let out = site.run(
        &["demo", "seed", "--store", "shop", "--scale", "1"],
        &[(
            "RIGHTFUL_STORE_SHOP_URL",
            "postgress://shop:s3cret@127.0.0.1:5432/shop",
        )],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_eq!(
        stderr(&out),
        "error: shop: store `shop`: unknown URL scheme `postgress://`: use postgres://, postgresql://, mysql://, mariadb://, sqlite:// or a SQLite file path (URL from RIGHTFUL_STORE_SHOP_URL)\n"
    );
    let names: Vec<String> = std::fs::read_dir(site.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.starts_with("postgress")),
        "{names:?}"
    );
}

// Issue 13 item 5: a SQLite error names the file, and a store error names where its URL came
// from: the map's variable, or `[stores.urls]` with the file's line.
#[test]
fn issue13_5_sqlite_errors_name_the_file_and_the_url_source() {
    let site = Site::new();
    // A path under a regular file cannot be opened.
    let blocker = site.path().join("blocker");
    std::fs::write(&blocker, "not a directory").unwrap();
    let engine_db = blocker.join("rightful.sqlite3").display().to_string();
    let out = site.run(
        &["migrate"],
        &[("RIGHTFUL_STORAGE__DATABASE_URL", &engine_db)],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "error: cannot connect to the engine database: SQLite file {engine_db}: "
        )) && err.ends_with(" (URL from `storage.database_url`: RIGHTFUL_STORAGE__DATABASE_URL)\n"),
        "{err}"
    );

    let logs = blocker.join("logs.sqlite3").display().to_string();
    let cms = site.path().join("cms.sqlite3").display().to_string();
    let out = site.run(
        &["stores", "check"],
        &[
            ("RIGHTFUL_STORE_LOGS_URL", &logs),
            ("RIGHTFUL_STORE_CMS_URL", &cms),
            ("RIGHTFUL_STORE_SHOP_URL", &cms),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.starts_with("store `logs`"))
        .unwrap_or_else(|| panic!("no line for logs in:\n{text}"));
    assert!(
        line.starts_with("store `logs` is unreachable: ")
            && line.ends_with(&format!(
                "(URL from RIGHTFUL_STORE_LOGS_URL; SQLite file {logs})"
            )),
        "{line}"
    );

    // The same URL from `[stores.urls]`: the key, the file and its line.
    let settings = site.path().join("config/rightful.toml");
    let text = std::fs::read_to_string(&settings).unwrap();
    let shipped = "logs = \"sqlite://data/demo-sqlite/logs.sqlite3\"";
    let url_line = text
        .lines()
        .position(|l| l.contains(shipped))
        .expect("the shipped [stores] urls name the demo's logs")
        + 1;
    let text = text.replace(shipped, &format!("logs = \"{logs}\""));
    std::fs::write(&settings, text).unwrap();
    let out = site.run(
        &["stores", "check"],
        &[
            ("RIGHTFUL_STORE_CMS_URL", &cms),
            ("RIGHTFUL_STORE_SHOP_URL", &cms),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.starts_with("store `logs`"))
        .unwrap_or_else(|| panic!("no line for logs in:\n{text}"));
    assert!(
        line.ends_with(&format!(
            "(URL from `stores.urls.logs` (config/rightful.toml, line {url_line}); SQLite file {logs})"
        )),
        "{line}"
    );
}

// Issue 13 item 5: a bad cron stops `serve` before it prints that it is listening, exit 1.
#[test]
fn issue13_5_bad_cron_fails_serve_before_listening() {
    let site = Site::new();
    let line = site.edit(
        "config/rightful.toml",
        "reminders = \"0 0 7 * * *\"",
        "reminders = \"0 0 25 * * *\"",
    );
    let data = site.path().join("data").display().to_string();
    let mut child = site
        .command(
            &["serve", "--listen", "127.0.0.1:0", "--data-dir", &data],
            &[],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("serve kept running with a bad cron expression");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !stdout(&out).contains("Rightful is listening"),
        "{}",
        stdout(&out)
    );
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "error: invalid settings (config/rightful.toml, line {line}): `schedule.reminders`: `0 0 25 * * *` is not a cron expression (sec min hour day month weekday)"
        )),
        "{err}"
    );
}

// Issue 13 item 5: `audit verify --data-dir` on a directory that does not exist fails (it said
// "intact: 0 entries" after creating an empty database there).
#[test]
fn issue13_5_audit_verify_on_a_missing_data_dir_fails() {
    let site = Site::new();
    let missing = site.path().join("no-such-dir");
    let out = site.run(
        &["audit", "verify", "--data-dir", missing.to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "error: the data directory {} does not exist: no audit trail to verify\n",
            missing.display()
        )
    );
    assert!(!stdout(&out).contains("intact"), "{}", stdout(&out));
    assert!(!missing.exists(), "verify created the directory");
    // An existing directory without the engine database: refused too, nothing created.
    std::fs::create_dir(&missing).unwrap();
    let out = site.run(
        &["audit", "verify", "--data-dir", missing.to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).starts_with(&format!(
            "error: no engine database in {}",
            missing.display()
        )),
        "{}",
        stderr(&out)
    );
    assert!(!missing.join("rightful.sqlite3").exists());
}
