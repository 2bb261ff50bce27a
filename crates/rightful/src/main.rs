#![doc = include_str!("../README.md")]

mod telemetry;

/// Writes a line to standard output; a closed pipe (`rightful … | head`) ends the output quietly
/// instead of panicking.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

/// Like `out!`, without the newline.
macro_rules! out_nonl {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($t)*);
    }};
}

mod audit;
mod backup;

use clap::{Args, Parser, Subcommand};
use rightful_engine::register::Format;
use rightful_engine::settings::Settings;
use rightful_engine::{Engine, EngineError};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Rightful: a GDPR data-subject rights and compliance engine.
#[derive(Debug, Parser)]
#[command(name = "rightful", version, about)]
struct Cli {
    /// Settings file (default: config/rightful.toml when present, or $RIGHTFUL_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the HTTP server.
    Serve {
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        #[command(flatten)]
        data: DataDir,
    },
    /// Creates or updates the engine database, then exits.
    Migrate {
        #[command(flatten)]
        data: DataDir,
    },
    /// The policy.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// The register of processing activities (Art. 30).
    Register {
        #[command(subcommand)]
        command: RegisterCommand,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The site's data stores.
    Stores {
        #[command(subcommand)]
        command: StoresCommand,
    },
    /// Staff accounts (DPO, auditors).
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Retention: delete what is past its period, in every store.
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// Carrying requests out.
    Requests {
        #[command(subcommand)]
        command: RequestsCommand,
    },
    /// Deadline reminders to the DPO and the sweep of unchecked documents (the server also runs
    /// them on its `[schedule]`).
    Reminders {
        #[command(subcommand)]
        command: RemindersCommand,
    },
    /// Writes a consistent copy of the embedded SQLite engine database to a new private file
    /// (0600) and verifies its audit trail; exits 1 if the trail is not intact. PostgreSQL: use
    /// pg_dump (docs/OPERATIONS.md).
    Backup {
        /// The copy to write (must not exist).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        data: DataDir,
    },
    /// Replaces the embedded SQLite engine database with a backup (stop every server first): a
    /// damaged or tampered backup is refused and nothing changes; the restored audit trail is
    /// verified against the newest signed head. Exits 1 when the backup is refused or the
    /// restored trail does not verify (a backup older than the newest signed head).
    Restore {
        /// The backup written by `rightful backup`.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        #[command(flatten)]
        data: DataDir,
    },
    /// The demo site of the reference company.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
}

#[derive(Debug, Subcommand)]
enum StoresCommand {
    /// Checks every store map against the policy and its live database; exits 1 on any problem.
    Check {
        #[command(flatten)]
        dir: PolicyDir,
    },
    /// Finds a subject in every store and prints row counts per table (never values) and timings.
    Find {
        /// An identity, as KIND=VALUE (e.g. email=ann@example.com); repeat for several.
        #[arg(long = "id", value_name = "KIND=VALUE", required = true)]
        ids: Vec<String>,
        /// Run discovery and export this many times and print timing percentiles.
        #[arg(long, default_value_t = 1)]
        repeat: u32,
        #[command(flatten)]
        dir: PolicyDir,
    },
}

#[derive(Debug, Subcommand)]
enum StaffCommand {
    /// Adds an account; the password comes from RIGHTFUL_STAFF_PASSWORD or the first line of
    /// standard input (never from the command line, where other users could read it).
    Add {
        /// Login name.
        username: String,
        /// dpo, auditor, or site (the site's mailing tools: the suppression check only).
        #[arg(long)]
        role: String,
        #[command(flatten)]
        data: DataDir,
    },
    /// Lists the accounts (username, role, disabled, created).
    List {
        #[command(flatten)]
        data: DataDir,
    },
    /// Disables an account: it cannot sign in, and every token it holds stops working at once.
    Disable {
        /// Login name.
        username: String,
        #[command(flatten)]
        data: DataDir,
    },
    /// Enables a disabled account again (its earlier tokens stay revoked).
    Enable {
        /// Login name.
        username: String,
        #[command(flatten)]
        data: DataDir,
    },
    /// Removes an account; every token it holds stops working at once.
    Remove {
        /// Login name.
        username: String,
        #[command(flatten)]
        data: DataDir,
    },
    /// Sets a new password (RIGHTFUL_STAFF_PASSWORD or standard input); every token the account
    /// holds stops working at once.
    Passwd {
        /// Login name.
        username: String,
        #[command(flatten)]
        data: DataDir,
    },
}

#[derive(Debug, Subcommand)]
enum DemoCommand {
    /// Creates the demo site's tables in every store and fills them for N subjects.
    Seed {
        /// Number of subjects.
        #[arg(long, default_value_t = 1000)]
        scale: u64,
        /// Access-log rows per subject.
        #[arg(long, default_value_t = 50)]
        logs_per_subject: u64,
        /// Subjects per transaction.
        #[arg(long, default_value_t = 50_000)]
        chunk: u64,
        /// Drop and recreate the demo tables when they exist.
        #[arg(long, conflicts_with = "if_missing")]
        reset: bool,
        /// Leave stores that already hold the demo tables alone.
        #[arg(long)]
        if_missing: bool,
        /// Seed only this store.
        #[arg(long, value_name = "NAME")]
        store: Option<String>,
        #[command(flatten)]
        dir: PolicyDir,
    },
}

#[derive(Debug, Args)]
struct DataDir {
    /// Where the embedded SQLite state lives (default ./data).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct PolicyDir {
    /// The policy directory (default config/policy).
    #[arg(long, value_name = "DIR")]
    policy: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Validates the policy and prints every problem; exits 1 if there is any.
    Check {
        #[command(flatten)]
        dir: PolicyDir,
    },
}

#[derive(Debug, Subcommand)]
enum RegisterCommand {
    /// Exports the register derived from the policy.
    Export {
        /// csv (CNIL layout), json, or jsonld (W3C DPV).
        #[arg(long, default_value = "csv")]
        format: String,
        /// Write to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        dir: PolicyDir,
    },
}

#[derive(Debug, Subcommand)]
enum RetentionCommand {
    /// Sweeps every store (or one): rows past their period go, in batches; restricted rows and
    /// subjects with a pending request are kept and counted. Exits 1 if a store failed.
    Run {
        /// Count what would go and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Only this purpose.
        #[arg(long, value_name = "ID")]
        purpose: Option<String>,
        /// Only this store.
        #[arg(long, value_name = "NAME")]
        store: Option<String>,
        /// Rows per batch (each its own short transaction).
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        #[command(flatten)]
        data: DataDir,
    },
    /// Benchmarks the sweep against one raw DELETE on PostgreSQL (`make bench`): creates two
    /// throwaway databases through `--admin-url`, fills them with `--rows` log rows (half past the
    /// twelve months), sweeps one, DELETEs in the other, drops both.
    Bench {
        /// Rows of access log.
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
        /// Rows per batch.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        /// A PostgreSQL database to connect to for creating the two benchmark databases.
        #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
        admin_url: String,
    },
}

#[derive(Debug, Subcommand)]
enum RequestsCommand {
    /// Measures carrying requests out on the configured stores (CHANGES THEIR DATA for erasures:
    /// run it on the demo site): each request of `--count` subjects (`user<k>@example.test`) is
    /// submitted, approved and carried out, and the time from approval to completion is reported
    /// (every step and its bookkeeping: journal, audit, result, notice).
    Bench {
        /// access, erasure, portability, rectification, restriction…
        #[arg(long = "type", default_value = "access")]
        kind: String,
        /// How many requests.
        #[arg(long, default_value_t = 100)]
        count: u64,
        /// The first subject number; subjects are `first`, `first + step`, …
        #[arg(long, default_value_t = 3)]
        first: u64,
        /// The step between subject numbers.
        #[arg(long, default_value_t = 7)]
        step: u64,
        #[command(flatten)]
        data: DataDir,
    },
}

#[derive(Debug, Subcommand)]
enum RemindersCommand {
    /// Sends the reminders due now and deletes documents left unchecked too long (A7).
    Run {
        #[command(flatten)]
        data: DataDir,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Checks the hash chain; names every altered, deleted, inserted or reordered entry; checks
    /// the trail against the newest signed head (the engine's own, or `--anchor FILE`); exits 1
    /// if the trail is not intact, does not match the signed head, or an anchor is refused.
    Verify {
        /// Anchors to check against (JSON lines as `audit anchors` exports them, or one JWS a
        /// line): the newest must be signed by Rightful's key and match the trail.
        #[arg(long, value_name = "FILE")]
        anchor: Option<PathBuf>,
        /// Check signatures with this JWK Set (Rightful's `/.well-known/jwks.json`, kept by the
        /// auditor) instead of the key in the data directory.
        #[arg(long, value_name = "JWKS")]
        key: Option<PathBuf>,
        #[command(flatten)]
        data: DataDir,
    },
    /// Signs the trail's head now (when it moved and still extends the last signed head), and
    /// sends pending anchors to `[audit] anchor_url`; exits 1 when the head is refused.
    Anchor {
        #[command(flatten)]
        data: DataDir,
    },
    /// Exports every anchor as JSON lines (`{typ, seq, hash, at, jws}`).
    Anchors {
        /// Write to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        data: DataDir,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn settings(
    cli_config: Option<&std::path::Path>,
    data: Option<&DataDir>,
    policy: Option<&PolicyDir>,
) -> Result<Settings, EngineError> {
    let mut s = Settings::load(cli_config)?;
    if let Some(dir) = data.and_then(|d| d.data_dir.clone()) {
        s.storage.data_dir = dir;
    }
    if let Some(dir) = policy.and_then(|p| p.policy.clone()) {
        s.policy.dir = dir;
    }
    Ok(s)
}

fn run(cli: Cli) -> Result<ExitCode, EngineError> {
    let config = cli.config.as_deref();
    match cli.command {
        Command::Serve { listen, data } => {
            let mut s = settings(config, Some(&data), None)?;
            if let Some(addr) = listen {
                s.server.listen = addr;
            }
            // The scheduler library narrates its own start-up at info level: only its warnings.
            telemetry::init_subscriber(telemetry::get_subscriber(
                "info,tokio_cron_scheduler=warn",
                &s.log.format,
                std::io::stderr,
            ));
            serve(s)
        }
        Command::Migrate { data } => {
            let s = settings(config, Some(&data), None)?;
            let store = s.open_store(1)?;
            out!("engine database is up to date ({:?})", store.backend());
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy {
            command: PolicyCommand::Check { dir },
        } => {
            let s = settings(config, None, Some(&dir))?;
            policy_check(&s)
        }
        Command::Register {
            command: RegisterCommand::Export { format, out, dir },
        } => {
            let s = settings(config, None, Some(&dir))?;
            let format: Format = format.parse()?;
            let policy = rightful_engine::policy::load_dir(&s.policy.dir)?.policy;
            let base = rightful_engine::register::base_iri(&policy, &s.register.base_iri);
            let warnings = match &out {
                Some(path) => {
                    let io = |source| EngineError::Io {
                        path: path.display().to_string(),
                        source,
                    };
                    let mut file =
                        std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
                    let w = rightful_engine::register::export(&policy, format, &base, &mut file)?;
                    file.flush().map_err(io)?;
                    eprintln!(
                        "wrote the register ({} purposes) to {}",
                        policy.purposes.len(),
                        path.display()
                    );
                    w
                }
                None => rightful_engine::register::export(
                    &policy,
                    format,
                    &base,
                    &mut std::io::stdout().lock(),
                )?,
            };
            for w in warnings {
                eprintln!("warning: {w}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Staff {
            command:
                StaffCommand::Add {
                    username,
                    role,
                    data,
                },
        } => {
            let s = settings(config, Some(&data), None)?;
            let Some(role) = rightful_engine::auth::Role::parse(&role) else {
                eprintln!("error: --role is dpo, auditor or site");
                return Ok(ExitCode::from(2));
            };
            let password = staff_password()?;
            let engine = Engine::open(s)?;
            match rightful_engine::auth::add_staff(&engine, &username, role, &password) {
                Ok(()) => {
                    out!("added {} account `{username}`", role.as_str());
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Staff {
            command: StaffCommand::List { data },
        } => {
            let engine = Engine::open(settings(config, Some(&data), None)?)?;
            match rightful_engine::auth::list_staff(&engine) {
                Ok(list) => {
                    for a in list {
                        out!(
                            "{}\t{}\t{}\t{}",
                            a.username,
                            a.role,
                            if a.disabled { "disabled" } else { "enabled" },
                            a.created_at.format("%Y-%m-%d %H:%M")
                        );
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Staff {
            command:
                cmd @ (StaffCommand::Disable { .. }
                | StaffCommand::Enable { .. }
                | StaffCommand::Remove { .. }
                | StaffCommand::Passwd { .. }),
        } => {
            use rightful_engine::auth::StaffChange;
            let (username, data, change, done) = match cmd {
                StaffCommand::Disable { username, data } => (
                    username,
                    data,
                    StaffChange::Disable,
                    "disabled; its tokens are revoked",
                ),
                StaffCommand::Enable { username, data } => {
                    (username, data, StaffChange::Enable, "enabled")
                }
                StaffCommand::Remove { username, data } => (
                    username,
                    data,
                    StaffChange::Remove,
                    "removed; its tokens are revoked",
                ),
                StaffCommand::Passwd { username, data } => (
                    username,
                    data,
                    StaffChange::Password(staff_password()?),
                    "has a new password; its tokens are revoked",
                ),
                StaffCommand::Add { .. } | StaffCommand::List { .. } => {
                    return Ok(ExitCode::from(2));
                }
            };
            let engine = Engine::open(settings(config, Some(&data), None)?)?;
            match rightful_engine::auth::change_staff(&engine, &username, change) {
                Ok(()) => {
                    out!("account `{username}` {done}");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Stores {
            command: StoresCommand::Find { ids, repeat, dir },
        } => {
            let s = settings(config, None, Some(&dir))?;
            stores_find(&s, &ids, repeat)
        }
        Command::Stores {
            command: StoresCommand::Check { dir },
        } => {
            let s = settings(config, None, Some(&dir))?;
            stores_check(&s)
        }
        Command::Demo {
            command:
                DemoCommand::Seed {
                    scale,
                    logs_per_subject,
                    chunk,
                    reset,
                    if_missing,
                    store,
                    dir,
                },
        } => {
            let s = settings(config, None, Some(&dir))?;
            let opts = rightful_engine::demo::SeedOptions {
                scale,
                logs_per_subject,
                chunk: chunk.max(1),
                reset,
                if_missing,
            };
            demo_seed(&s, &opts, store.as_deref())
        }
        Command::Retention {
            command:
                RetentionCommand::Run {
                    dry_run,
                    purpose,
                    store,
                    batch,
                    data,
                },
        } => {
            let s = settings(config, Some(&data), None)?;
            let opts = rightful_engine::retention::Options {
                dry_run,
                purpose,
                store,
                batch,
            };
            retention_run(s, &opts)
        }
        Command::Retention {
            command:
                RetentionCommand::Bench {
                    rows,
                    batch,
                    admin_url,
                },
        } => {
            let s = settings(config, None, None)?;
            let engine = Engine::open(s)?;
            out!("filling two databases with {rows} log rows…");
            let r = rightful_engine::retention::bench(&engine, &admin_url, rows, batch)?;
            out!(
                "sweep: {} of {} rows in {:.1} s ({:.0} rows/s), {} batches of {batch}, longest batch {:.1} ms",
                r.expired,
                r.rows,
                r.sweep_secs,
                r.expired as f64 / r.sweep_secs,
                r.batches,
                r.longest_batch_ms
            );
            out!(
                "raw DELETE: {:.1} s ({:.0} rows/s) in one statement; sweep/raw rows per second: {:.2}",
                r.raw_secs,
                r.expired as f64 / r.raw_secs,
                (r.expired as f64 / r.sweep_secs) / (r.expired as f64 / r.raw_secs)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Requests {
            command:
                RequestsCommand::Bench {
                    kind,
                    count,
                    first,
                    step,
                    data,
                },
        } => {
            let s = settings(config, Some(&data), None)?;
            requests_bench(s, &kind, count, first, step)
        }
        Command::Reminders {
            command: RemindersCommand::Run { data },
        } => {
            let s = settings(config, Some(&data), None)?;
            let engine = Engine::open(s)?;
            let report = actix_web::rt::System::new()
                .block_on(rightful_engine::reminders::run(&engine, chrono::Utc::now()))?;
            out!(
                "reminders sent: {}, unchecked documents deleted: {}, expired results deleted: {}, old outbox messages deleted: {}",
                report.reminders,
                report.documents_deleted,
                report.results_deleted,
                report.outbox_deleted
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            command: AuditCommand::Verify { anchor, key, data },
        } => {
            let s = settings(config, Some(&data), None)?;
            audit::verify(&s, anchor.as_deref(), key.as_deref())
        }
        Command::Audit {
            command: AuditCommand::Anchor { data },
        } => audit::anchor(settings(config, Some(&data), None)?),
        Command::Audit {
            command: AuditCommand::Anchors { out, data },
        } => audit::anchors(&settings(config, Some(&data), None)?, out.as_deref()),
        Command::Backup { out, data } => {
            backup::backup(&settings(config, Some(&data), None)?, &out)
        }
        Command::Restore { from, data } => {
            backup::restore(&settings(config, Some(&data), None)?, &from)
        }
    }
}

fn stores_check(s: &Settings) -> Result<ExitCode, EngineError> {
    let policy = rightful_engine::policy::load_dir(&s.policy.dir)?.policy;
    let stores = match rightful_engine::stores::load(s, &policy) {
        Ok(stores) => stores,
        Err(rightful_engine::stores::StoresError::Invalid(errors)) => {
            out_nonl!("{errors}");
            return Ok(ExitCode::FAILURE);
        }
        Err(other) => return Err(other.into()),
    };
    let key = rightful_engine::stores::hash_key(s)?;
    let mut ok = true;
    for (name, outcome) in rightful_engine::stores::open_all(&stores, &key) {
        match outcome {
            Ok(c) => {
                let tables = c.map().tables.len();
                out!("store {name}: OK ({tables} tables)");
                for w in &c.warnings {
                    out!("  warning: {w}");
                }
            }
            Err(e) => {
                ok = false;
                out!("{e}");
            }
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn stores_find(s: &Settings, ids: &[String], repeat: u32) -> Result<ExitCode, EngineError> {
    let mut identities = rightful_connectors::Identities::new();
    for id in ids {
        let Some((kind, value)) = id.split_once('=') else {
            eprintln!("error: `--id` takes KIND=VALUE");
            return Ok(ExitCode::from(2));
        };
        identities
            .entry(kind.to_owned())
            .or_default()
            .insert(value.to_owned());
    }
    let policy = rightful_engine::policy::load_dir(&s.policy.dir)?.policy;
    let stores = rightful_engine::stores::load(s, &policy)?;
    let key = rightful_engine::stores::hash_key(s)?;
    let mut connectors = Vec::new();
    for (name, c) in rightful_engine::stores::open_all(&stores, &key) {
        match c {
            Ok(c) => connectors.push(c),
            Err(e) => out!("{name}: {e}"),
        }
    }
    let mut times = Vec::new();
    let mut last = Vec::new();
    for _ in 0..repeat.max(1) {
        let started = std::time::Instant::now();
        last.clear();
        let mut exported = 0u64;
        for c in &connectors {
            let found = c.discover(&identities)?;
            exported += c.export(&found, &mut |_| Ok(()))?;
            last.push(found);
        }
        times.push((started.elapsed().as_secs_f64() * 1000.0, exported));
    }
    for found in &last {
        for h in &found.hits {
            out!(
                "{:<8} {:<24} {:<22} {:>8} rows",
                found.store,
                h.table,
                h.purpose,
                h.rows
            );
        }
    }
    let mut ms: Vec<f64> = times.iter().map(|t| t.0).collect();
    ms.sort_by(f64::total_cmp);
    let pct = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
    out!(
        "discover + export across {} stores: {} rows; {} runs: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        connectors.len(),
        times.last().map_or(0, |t| t.1),
        ms.len(),
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    Ok(ExitCode::SUCCESS)
}

fn retention_run(
    s: Settings,
    opts: &rightful_engine::retention::Options,
) -> Result<ExitCode, EngineError> {
    let engine = Engine::open(s)?;
    let bars = indicatif::MultiProgress::new();
    let spinners = std::sync::Mutex::new(std::collections::BTreeMap::new());
    let progress = |store: &str, what: &str| {
        let Ok(mut map) = spinners.lock() else { return };
        let bar = map.entry(store.to_owned()).or_insert_with(|| {
            let b = bars.add(indicatif::ProgressBar::new_spinner());
            b.enable_steady_tick(std::time::Duration::from_millis(120));
            b
        });
        if what == "sweeping" {
            bar.set_message(format!("{store}: sweeping…"));
        } else {
            bar.finish_with_message(format!("{store}: {what}"));
        }
    };
    let sweeps = actix_web::rt::System::new().block_on(rightful_engine::retention::run(
        &engine,
        opts,
        chrono::Utc::now(),
        &progress,
    ))?;
    let verb = if opts.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    out!(
        "{:<8} {:<24} {:>10} {:>10} {:>10} {:>8} {:>9}  cut-off",
        "store",
        "table",
        verb,
        if opts.dry_run {
            "would arch."
        } else {
            "archived"
        },
        "kept",
        "batches",
        "max ms"
    );
    let mut failed = false;
    for sweep in &sweeps {
        match &sweep.outcome {
            Ok(tables) => {
                for t in tables.iter().filter(|t| t.skipped.is_none()) {
                    let children: u64 = t.children.iter().map(|c| c.1).sum();
                    out!(
                        "{:<8} {:<24} {:>10} {:>10} {:>10} {:>8} {:>9.1}  {}",
                        sweep.store,
                        t.table,
                        if children > 0 {
                            format!("{}+{children}", t.rows)
                        } else {
                            t.rows.to_string()
                        },
                        t.archived,
                        t.kept,
                        t.batches,
                        t.longest_batch_ms,
                        t.cutoffs
                            .iter()
                            .map(|(e, d)| format!("{} <= {d}", e.as_str()))
                            .chain(t.archive_cutoff.map(|d| format!("archive <= {d}")))
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
            }
            Err(e) => {
                failed = true;
                out!("{:<8} FAILED: {e}", sweep.store);
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn requests_bench(
    s: Settings,
    kind: &str,
    count: u64,
    first: u64,
    step: u64,
) -> Result<ExitCode, EngineError> {
    use rightful_engine::intake::{Decision, Submission, decide, submit};
    let engine = Engine::open(s)?;
    let mut times = Vec::new();
    let run = actix_web::rt::System::new().block_on(async {
        let started_all = std::time::Instant::now();
        for i in 0..count {
            let n = first + i * step;
            let sub = Submission {
                kind: Some(kind.to_owned()),
                text: None,
                email: format!("user{n}@example.test"),
                last_name: Some("Bench".into()),
                first_name: Some("Subject".into()),
                postal_address: None,
                language: None,
                details: serde_json::Value::Null,
                id_token: None,
            };
            let a = submit(&engine, sub, "bench", chrono::Utc::now())
                .await
                .map_err(|e| EngineError::Io { path: "submit".into(), source: std::io::Error::other(e.to_string()) })?;
            let id = a.id.clone();
            engine.store.with_conn(move |c| {
                rightful_store::models::request::transition(
                    c,
                    &id,
                    rightful_core::lifecycle::Status::AwaitingReview,
                    "bench",
                    "identity settled for the benchmark",
                    chrono::Utc::now().naive_utc(),
                )?
                .map_err(|e| rightful_store::StoreError::Invalid(e.to_string()))?;
                Ok(())
            })?;
            let started = std::time::Instant::now();
            decide(&engine, &a.id, Decision::Approve, "dpo:bench", chrono::Utc::now())
                .await
                .map_err(|e| EngineError::Io { path: "approve".into(), source: std::io::Error::other(e.to_string()) })?;
            rightful_engine::execution::drain(&engine, "bench").await?;
            let id = a.id.clone();
            let status = engine
                .store
                .with_conn(move |c| rightful_store::models::request::find(c, &id))?
                .map(|r| r.status)
                .unwrap_or_default();
            if status != "completed" {
                out!("request {} is `{status}`, not completed: are the stores reachable? (rightful stores check)", a.id);
                return Ok(None);
            }
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        Ok::<_, EngineError>(Some(started_all.elapsed()))
    })?;
    let Some(run) = run else {
        return Ok(ExitCode::FAILURE);
    };
    if times.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    out!(
        "{kind}: {} requests carried out across {} stores; approval to completion: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {:.1} requests/s one after the other (intake included)",
        times.len(),
        engine.stores.len(),
        pct(0.5),
        pct(0.95),
        pct(0.99),
        pct(1.0),
        times.len() as f64 / run.as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

fn demo_seed(
    s: &Settings,
    opts: &rightful_engine::demo::SeedOptions,
    only: Option<&str>,
) -> Result<ExitCode, EngineError> {
    let policy = rightful_engine::policy::load_dir(&s.policy.dir)?.policy;
    let stores = rightful_engine::stores::load(s, &policy)?;
    let style = indicatif::ProgressStyle::with_template(
        "{prefix:>6} [{bar:40}] {pos}/{len} subjects {per_sec} {eta}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
    .progress_chars("=> ");
    let mut total_rows = 0u64;
    let started = std::time::Instant::now();
    for store in stores
        .iter()
        .filter(|st| only.is_none_or(|o| o == st.map.name))
    {
        let bar = indicatif::ProgressBar::new(opts.scale)
            .with_style(style.clone())
            .with_prefix(store.map.name.clone());
        let seeded = rightful_engine::demo::seed_store(
            store,
            &s.stores.demo_dir,
            opts,
            &mut |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            },
        )
        .map_err(|e| EngineError::Io {
            path: store.map.name.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        bar.finish_and_clear();
        if seeded.skipped {
            out!("{}: already seeded, left alone", seeded.store);
            continue;
        }
        let rows: u64 = seeded.rows.iter().map(|r| r.1).sum();
        total_rows += rows;
        let detail: Vec<String> = seeded
            .rows
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect();
        out!(
            "{}: {rows} rows in {:.1} s ({:.0} rows/s): {}",
            seeded.store,
            seeded.seconds,
            rows as f64 / seeded.seconds.max(0.001),
            detail.join(", ")
        );
    }
    let secs = started.elapsed().as_secs_f64();
    out!(
        "seeded {total_rows} rows in {secs:.1} s ({:.0} rows/s)",
        total_rows as f64 / secs.max(0.001)
    );
    Ok(ExitCode::SUCCESS)
}

fn policy_check(s: &Settings) -> Result<ExitCode, EngineError> {
    match rightful_engine::policy::load_dir(&s.policy.dir) {
        Ok(loaded) => {
            let p = &loaded.policy;
            out!(
                "policy OK: {} ({} purposes) in {}",
                p.controller.party.name,
                p.purposes.len(),
                s.policy.dir.display()
            );
            for purpose in &p.purposes {
                let bases: Vec<&str> = purpose.bases.iter().map(|b| b.basis.as_str()).collect();
                out!(
                    "  {:<24} {:<34} {}",
                    purpose.id,
                    bases.join(" | "),
                    purpose.file
                );
            }
            for w in rightful_core::register::check(p).warnings {
                out!("warning: {w}");
            }
            out!("digest: {}", loaded.digest);
            Ok(ExitCode::SUCCESS)
        }
        Err(rightful_engine::policy::LoadError::Invalid(errors)) => {
            out_nonl!("{errors}");
            Ok(ExitCode::FAILURE)
        }
        Err(other) => Err(other.into()),
    }
}

/// This machine's name, for the workers' names in the journal.
fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "rightful".into())
}

fn serve(s: Settings) -> Result<ExitCode, EngineError> {
    let listen = s.server.listen.clone();
    // A bad cron expression stops the server before it says it is listening.
    rightful_engine::schedule::check(&s)?;
    // The site's stores are checked at start-up: a map that does not fit, an unreachable store or
    // a missing index is logged; the server still starts (requests wait for the store).
    let engine = Engine::open(s)?;
    match rightful_engine::stores::load(&engine.settings, &engine.policy) {
        Ok(stores) => {
            let key = rightful_engine::stores::hash_key(&engine.settings)?;
            for (name, outcome) in rightful_engine::stores::open_all(&stores, &key) {
                match outcome {
                    Ok(c) => {
                        tracing::info!(store.name = %name, tables.count = c.map().tables.len(), warnings.count = c.warnings.len(), "store ready")
                    }
                    Err(e) => tracing::error!(store.name = %name, error = %e, "store not ready"),
                }
            }
        }
        Err(e) => tracing::error!(error = %e, "store maps not loaded"),
    }
    let listener = std::net::TcpListener::bind(&listen).map_err(|source| EngineError::Io {
        path: listen.clone(),
        source,
    })?;
    let addr = listener.local_addr().map_err(|source| EngineError::Io {
        path: listen.clone(),
        source,
    })?;
    out!("Rightful is listening on http://{addr}");
    out!("  health:   http://{addr}/health");
    out!("  register: http://{addr}/v1/register?format=csv   (also json, jsonld)");
    out!("  API docs: http://{addr}/docs/   (OpenAPI 3.1: http://{addr}/openapi.json)");
    if !engine.settings.drp.business_id.is_empty() {
        out!(
            "  DRP 1.0:  http://{addr}/v1/data-rights-request   (business-id {})",
            engine.settings.drp.business_id
        );
    }
    // Which jobs run on their own, so that nobody is surprised by a nightly sweep.
    let sched = &engine.settings.schedule;
    let when = |cron: &str| {
        if cron.trim().is_empty() {
            "off".to_owned()
        } else {
            format!("`{}` (UTC)", cron.trim())
        }
    };
    out!(
        "  schedule: reminders and clean-up {}; retention sweep {}{}",
        when(&sched.reminders),
        when(&sched.retention),
        if sched.retention.trim().is_empty() {
            String::new()
        } else {
            format!(
                " of stores {}",
                engine
                    .stores
                    .iter()
                    .map(|s| s.map.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    out!(
        "  workers:  {} carrying out approved requests",
        engine.settings.execution.workers
    );
    tracing::info!(listen.addr = %addr, purposes.count = engine.policy.purposes.len(), schedule.reminders = %sched.reminders, schedule.retention = %sched.retention, "server started");
    actix_web::rt::System::new()
        .block_on(async move {
            // Reminders and sweeps run inside the server, on the configured cron schedule.
            let _scheduler = rightful_engine::schedule::start(engine.clone())
                .await
                .map_err(std::io::Error::other)?;
            // Approved requests are carried out by workers sharing the engine's job queue.
            rightful_engine::execution::spawn_workers(
                &engine,
                &format!("{}-{}", hostname(), std::process::id()),
            );
            // The audit trail's head is signed every `[audit] anchor_every_secs` (0: never).
            actix_web::rt::spawn(rightful_engine::anchor::run_schedule(engine.clone()));
            // DRP agents are told of every status change at their callback.
            if !engine.settings.drp.business_id.is_empty() {
                actix_web::rt::spawn(rightful_engine::drp::run_callbacks(engine.clone()));
            }
            let server = rightful_api::serve(engine, listener)?;
            server.await
        })
        .map_err(|source| EngineError::Io {
            path: addr.to_string(),
            source,
        })?;
    Ok(ExitCode::SUCCESS)
}

/// A staff password from RIGHTFUL_STAFF_PASSWORD or the first line of standard input (never
/// from the command line, where other users could read it).
fn staff_password() -> Result<String, EngineError> {
    if let Some(p) = rightful_engine::env::var("RIGHTFUL_STAFF_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|source| EngineError::Io {
            path: "stdin".into(),
            source,
        })?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
