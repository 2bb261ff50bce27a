//! Engine settings: `config/rightful.toml` (or `--config FILE`), then `RIGHTFUL_SECTION__KEY`
//! overrides, deserialised once into [`Settings`] and passed explicitly; no global.

use rightful_core::deadline::DeadlineRules;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The default settings file.
pub const DEFAULT_FILE: &str = "config/rightful.toml";

/// Settings problems, each naming the file or the variable.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file cannot be read.
    #[error("cannot read settings file {path}: {source}")]
    Read {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The file or an override is not valid.
    #[error("invalid settings ({origin}): {message}")]
    Invalid {
        /// The file, or the variable that broke it.
        origin: String,
        /// What is wrong.
        message: String,
    },
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to listen on.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Largest accepted request body, in KiB.
    #[serde(default = "default_body_limit")]
    pub body_limit_kib: usize,
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}
const fn default_body_limit() -> usize {
    256
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            body_limit_kib: default_body_limit(),
        }
    }
}

/// `[storage]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSettings {
    /// Where the embedded SQLite state lives.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// The engine database; empty means `<data_dir>/rightful.sqlite3`. Use
    /// `postgres://…` in production.
    #[serde(default)]
    pub database_url: String,
    /// Pooled connections to the engine database. On SQLite at most 4 are opened whatever this
    /// says (one writer at a time: more connections only add lock waits); on PostgreSQL, this
    /// many.
    #[serde(default = "default_pool")]
    pub pool_size: u32,
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}
const fn default_pool() -> u32 {
    8
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            data_dir: default_data_dir(),
            database_url: String::new(),
            pool_size: default_pool(),
        }
    }
}

/// `[policy]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySettings {
    /// The directory with `controller.toml` and `purposes/`.
    #[serde(default = "default_policy_dir")]
    pub dir: PathBuf,
}

fn default_policy_dir() -> PathBuf {
    PathBuf::from("config/policy")
}

impl Default for PolicySettings {
    fn default() -> Self {
        Self {
            dir: default_policy_dir(),
        }
    }
}

/// `[stores]`: the site's data stores.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoresSettings {
    /// The directory of store maps (`<name>.toml`).
    #[serde(default = "default_stores_dir")]
    pub dir: PathBuf,
    /// URL per store name, overriding the map's `url` (the map's `url_env` variable wins over
    /// both). `make run` points every store at a SQLite file of the demo site.
    #[serde(default)]
    pub urls: std::collections::BTreeMap<String, String>,
    /// The directory of outside processors (`<recipient>.toml`), notified under Art. 19.
    #[serde(default = "default_processors_dir")]
    pub processors_dir: PathBuf,
    /// Where the demo site's schemas and generators live.
    #[serde(default = "default_demo_dir")]
    pub demo_dir: PathBuf,
}

fn default_stores_dir() -> PathBuf {
    PathBuf::from("config/stores")
}
fn default_processors_dir() -> PathBuf {
    PathBuf::from("config/processors")
}
fn default_demo_dir() -> PathBuf {
    PathBuf::from("demo")
}

impl Default for StoresSettings {
    fn default() -> Self {
        Self {
            dir: default_stores_dir(),
            urls: Default::default(),
            processors_dir: default_processors_dir(),
            demo_dir: default_demo_dir(),
        }
    }
}

/// `[mail]`: how Rightful writes to data subjects.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    /// `outbox` (default: each message is a `.eml` file in `outbox_dir`) or `smtp`.
    #[serde(default = "default_transport")]
    pub transport: String,
    /// Where the outbox writes; empty means `<data_dir>/outbox`.
    #[serde(default)]
    pub outbox_dir: String,
    /// `smtp://host:port` (STARTTLS when offered), `smtps://host:port`, or
    /// `smtp+plain://host:port` for a local relay; credentials as `user:password@`, from the
    /// environment (`RIGHTFUL_MAIL__SMTP_URL`).
    #[serde(default)]
    pub smtp_url: String,
    /// The sender; empty means the DPO's address from the policy.
    #[serde(default)]
    pub from: String,
    /// Minutes an identity code stays valid.
    #[serde(default = "default_code_minutes")]
    pub code_minutes: i64,
    /// Wrong answers allowed per code.
    #[serde(default = "default_code_attempts")]
    pub code_attempts: i32,
    /// The language of messages when the request does not say (`en` or `fr`).
    #[serde(default = "default_language")]
    pub language: String,
    /// Message templates, `<dir>/<language>/<name>.txt`.
    #[serde(default = "default_templates_dir")]
    pub templates_dir: PathBuf,
    /// Where deadline reminders go; empty means the DPO's address from the policy.
    #[serde(default)]
    pub dpo_address: String,
    /// Days a message stays in the file outbox before the scheduled sweep deletes it (the
    /// messages hold addresses and codes).
    #[serde(default = "default_outbox_days")]
    pub outbox_days: u64,
}

const fn default_outbox_days() -> u64 {
    7
}

fn default_language() -> String {
    "en".into()
}
fn default_templates_dir() -> PathBuf {
    PathBuf::from("config/templates")
}

fn default_transport() -> String {
    "outbox".into()
}
const fn default_code_minutes() -> i64 {
    30
}
const fn default_code_attempts() -> i32 {
    5
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            transport: default_transport(),
            outbox_dir: String::new(),
            smtp_url: String::new(),
            from: String::new(),
            code_minutes: default_code_minutes(),
            code_attempts: default_code_attempts(),
            language: default_language(),
            templates_dir: default_templates_dir(),
            dpo_address: String::new(),
            outbox_days: default_outbox_days(),
        }
    }
}

/// `[identity]`: evidence that proves a requester without an e-mail code (A6).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySettings {
    /// The OpenID Connect provider's issuer; empty disables ID tokens.
    #[serde(default)]
    pub oidc_issuer: String,
    /// The audience (client id) Rightful's tokens are issued for.
    #[serde(default)]
    pub oidc_audience: String,
    /// The provider's keys, as a JWKS file.
    #[serde(default)]
    pub oidc_jwks_file: String,
    /// The provider's keys, fetched from this `https://` address (cached for
    /// `oidc_jwks_cache_secs`, fetched again when a token names an unknown key). Either this or
    /// `oidc_jwks_file`.
    #[serde(default)]
    pub oidc_jwks_url: String,
    /// How long fetched keys are reused.
    #[serde(default = "default_jwks_cache_secs")]
    pub oidc_jwks_cache_secs: u64,
    /// The shortest time between two fetches of the keys, also when a token names a key not
    /// held (anyone can send such a token; each must not cost a request to the provider).
    #[serde(default = "default_jwks_refresh_floor_secs")]
    pub oidc_jwks_refresh_floor_secs: u64,
    /// Staff may also sign in at the identity provider: the audience (client id) of their
    /// tokens; empty disables it.
    #[serde(default)]
    pub staff_oidc_audience: String,
    /// The claim of a staff token that carries the role (`dpo` or `auditor`).
    #[serde(default = "default_staff_role_claim")]
    pub staff_role_claim: String,
    /// The largest document a requester may upload, in KiB.
    #[serde(default = "default_document_max_kib")]
    pub document_max_kib: usize,
    /// Days an uploaded document may wait for the DPO's check before it is deleted unread (A7).
    #[serde(default = "default_document_days")]
    pub document_days: i64,
    /// Registered authorised agents (`<id>.toml` with `name` and a base64 Ed25519 `public_key`).
    #[serde(default = "default_agents_dir")]
    pub agents_dir: PathBuf,
}

const fn default_jwks_cache_secs() -> u64 {
    600
}
fn default_staff_role_claim() -> String {
    "rightful_role".into()
}
const fn default_jwks_refresh_floor_secs() -> u64 {
    30
}

fn default_document_max_kib() -> usize {
    5 * 1024
}
const fn default_document_days() -> i64 {
    14
}

fn default_agents_dir() -> PathBuf {
    PathBuf::from("config/agents")
}

impl Default for IdentitySettings {
    fn default() -> Self {
        Self {
            oidc_issuer: String::new(),
            oidc_audience: String::new(),
            oidc_jwks_file: String::new(),
            oidc_jwks_url: String::new(),
            staff_oidc_audience: String::new(),
            staff_role_claim: default_staff_role_claim(),
            oidc_jwks_cache_secs: default_jwks_cache_secs(),
            oidc_jwks_refresh_floor_secs: default_jwks_refresh_floor_secs(),
            document_max_kib: default_document_max_kib(),
            document_days: default_document_days(),
            agents_dir: default_agents_dir(),
        }
    }
}

/// `[register]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterSettings {
    /// IRI under which the JSON-LD register names the controller's own nodes; empty means
    /// `<controller website>/privacy/register`.
    #[serde(default)]
    pub base_iri: String,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `text` or `json`.
    #[serde(default = "default_log_format")]
    pub format: String,
}

fn default_log_format() -> String {
    "text".into()
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: default_log_format(),
        }
    }
}

/// All settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// HTTP server.
    #[serde(default)]
    pub server: ServerSettings,
    /// Engine state.
    #[serde(default)]
    pub storage: StorageSettings,
    /// Policy location.
    #[serde(default)]
    pub policy: PolicySettings,
    /// Register export.
    #[serde(default)]
    pub register: RegisterSettings,
    /// The site's data stores.
    #[serde(default)]
    pub stores: StoresSettings,
    /// Mail to data subjects.
    #[serde(default)]
    pub mail: MailSettings,
    /// Identity evidence.
    #[serde(default)]
    pub identity: IdentitySettings,
    /// Art. 12(3) deadlines: extra closing days, identity-pause window, answer-early target.
    #[serde(default)]
    pub deadlines: DeadlineRules,
    /// Logs.
    #[serde(default)]
    pub log: LogSettings,
    /// Jobs the server runs on a schedule.
    #[serde(default)]
    pub schedule: ScheduleSettings,
    /// Carrying out approved requests.
    #[serde(default)]
    pub execution: ExecutionSettings,
    /// The Data Rights Protocol server.
    #[serde(default)]
    pub drp: DrpSettings,
    /// Rate limits on what a stranger can trigger.
    #[serde(default)]
    pub limits: LimitSettings,
    /// Anchoring the audit trail.
    #[serde(default)]
    pub audit: AuditSettings,
    /// Who may scrape `/metrics`.
    #[serde(default)]
    pub metrics: MetricsSettings,
    /// Where the values came from, for messages naming the file's line or the variable.
    #[serde(skip)]
    pub provenance: Provenance,
}

/// Where settings came from: the file (its name and text) and the overriding variables.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    file: String,
    text: String,
    overrides: Vec<(String, String, String)>,
}

impl Settings {
    /// Where the value of `section.key…` came from: the variable that set it, else the file and
    /// the line, else `the default`.
    pub fn whence(&self, path: &[&str]) -> String {
        let p = &self.provenance;
        if let [section, key, ..] = path
            && let Some(o) = p
                .overrides
                .iter()
                .rev()
                .find(|o| o.1 == *section && o.2 == *key)
        {
            return o.0.clone();
        }
        match rightful_core::tomlpos::key_line_exact(&p.text, path) {
            Some(line) => format!("{}, line {line}", p.file),
            None => "the default".to_owned(),
        }
    }
}

/// `[metrics]`: `GET /metrics` answers a staff token of role `auditor` or `dpo`, or this token
/// (`Authorization: Bearer <token>`), meant for a Prometheus scraper; empty (the default): staff
/// tokens only. Set it from the environment (`RIGHTFUL_METRICS__TOKEN`), at least 32 characters.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// The scraper's bearer token; empty: none.
    #[serde(default)]
    pub token: String,
}

/// At most `max` events per `per_secs` seconds, for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// Events allowed in a window.
    pub max: u32,
    /// The window, in seconds.
    pub per_secs: u64,
}

impl Rate {
    const fn new(max: u32, per_secs: u64) -> Self {
        Self { max, per_secs }
    }
}

/// `[limits]`: every loop a stranger can trigger is bounded (issue 12 item 3). The in-memory
/// limits hold per server; the mail cap and a code's attempts are counted in the engine's
/// database, so they hold across servers and under concurrency. Exceeding one answers 429 with
/// `Retry-After`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    /// Requests submitted from one client address.
    #[serde(default = "default_intake_per_ip")]
    pub intake_per_ip: Rate,
    /// Requests submitted for one e-mail address (web channel; agents are registered).
    #[serde(default = "default_intake_per_address")]
    pub intake_per_address: Rate,
    /// Code verifications from one client address.
    #[serde(default = "default_verify_per_ip")]
    pub verify_per_ip: Rate,
    /// Requests with a request token (status, result, directives, uploads) from one address.
    #[serde(default = "default_token_per_ip")]
    pub token_per_ip: Rate,
    /// Staff sign-ins from one client address.
    #[serde(default = "default_signin_per_ip")]
    pub signin_per_ip: Rate,
    /// Failed sign-ins of one account before it must wait; each further failure doubles the
    /// wait, from `signin_backoff_secs` up to `signin_backoff_max_secs`.
    #[serde(default = "default_signin_failures")]
    pub signin_failures: u32,
    /// The first wait after too many failed sign-ins.
    #[serde(default = "default_signin_backoff")]
    pub signin_backoff_secs: u64,
    /// The longest wait.
    #[serde(default = "default_signin_backoff_max")]
    pub signin_backoff_max_secs: u64,
    /// Messages a stranger can cause to one address per day (codes, acknowledgements,
    /// documents asked for at intake), counted in the engine's database.
    #[serde(default = "default_mail_per_address_per_day")]
    pub mail_per_address_per_day: i32,
    /// Proxies whose `X-Forwarded-For` is believed (their own addresses); empty: the peer's
    /// address is the client's.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

const fn default_intake_per_ip() -> Rate {
    Rate::new(20, 3600)
}
const fn default_intake_per_address() -> Rate {
    Rate::new(5, 3600)
}
const fn default_verify_per_ip() -> Rate {
    Rate::new(30, 3600)
}
const fn default_token_per_ip() -> Rate {
    Rate::new(300, 3600)
}
const fn default_signin_per_ip() -> Rate {
    Rate::new(20, 900)
}
const fn default_signin_failures() -> u32 {
    5
}
const fn default_signin_backoff() -> u64 {
    30
}
const fn default_signin_backoff_max() -> u64 {
    900
}
const fn default_mail_per_address_per_day() -> i32 {
    10
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            intake_per_ip: default_intake_per_ip(),
            intake_per_address: default_intake_per_address(),
            verify_per_ip: default_verify_per_ip(),
            token_per_ip: default_token_per_ip(),
            signin_per_ip: default_signin_per_ip(),
            signin_failures: default_signin_failures(),
            signin_backoff_secs: default_signin_backoff(),
            signin_backoff_max_secs: default_signin_backoff_max(),
            mail_per_address_per_day: default_mail_per_address_per_day(),
            trusted_proxies: Vec::new(),
        }
    }
}

/// `[audit]`: signed heads of the audit trail (issue 12 item 10; docs/AUDIT.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// How often the server signs the trail's head when it moved since the last anchor, in
    /// seconds; 0 disables (`rightful audit anchor` still works).
    #[serde(default = "default_anchor_every_secs")]
    pub anchor_every_secs: u64,
    /// An `https://` address each anchor is POSTed to (JSON); empty: none. A failed delivery is
    /// logged and tried again at the next anchor.
    #[serde(default)]
    pub anchor_url: String,
    /// Lets `anchor_url` be a plain `http://` address (local tests only).
    #[serde(default)]
    pub allow_plain_http_anchor_url: bool,
}

const fn default_anchor_every_secs() -> u64 {
    60
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            anchor_every_secs: default_anchor_every_secs(),
            anchor_url: String::new(),
            allow_plain_http_anchor_url: false,
        }
    }
}

/// `[drp]`: Rightful as a Data Rights Protocol 1.0 server for registered authorised agents.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrpSettings {
    /// Our `business-id` in the DRP network directory; empty disables the DRP routes.
    #[serde(default)]
    pub business_id: String,
    /// The public base URL of this API, for `results_url` (empty: `http://<server.listen>`).
    #[serde(default)]
    pub public_url: String,
    /// Seconds an agent's clock may run ahead of ours when it dates a message (`issued-at`).
    #[serde(default = "default_clock_skew_secs")]
    pub clock_skew_secs: i64,
    /// How often status changes are looked for and pushed to the agents' callbacks, in ms.
    #[serde(default = "default_callback_poll_ms")]
    pub callback_poll_ms: u64,
    /// Failed pushes of one status before it is given up (the agent can still ask for it).
    #[serde(default = "default_callback_attempts")]
    pub callback_attempts: i32,
    /// Lets a status callback go to a plain `http://` address (local tests only).
    #[serde(default)]
    pub allow_plain_http_callbacks: bool,
}

const fn default_clock_skew_secs() -> i64 {
    30
}
const fn default_callback_poll_ms() -> u64 {
    1000
}
const fn default_callback_attempts() -> i32 {
    6
}

impl Default for DrpSettings {
    fn default() -> Self {
        Self {
            business_id: String::new(),
            public_url: String::new(),
            clock_skew_secs: default_clock_skew_secs(),
            callback_poll_ms: default_callback_poll_ms(),
            callback_attempts: default_callback_attempts(),
            allow_plain_http_callbacks: false,
        }
    }
}

/// `[execution]`: the workers that carry out approved requests.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutionSettings {
    /// Workers per server (0: this server carries nothing out; another one does).
    #[serde(default = "default_workers")]
    pub workers: usize,
    /// How often an idle worker looks for work, in milliseconds.
    #[serde(default = "default_poll_ms")]
    pub poll_ms: u64,
    /// How long a claimed step is held before another worker may take it over (a crashed
    /// worker's step), in seconds.
    #[serde(default = "default_lease_secs")]
    pub lease_secs: i64,
    /// The first wait before retrying a step whose store was unreachable, doubled each time up
    /// to an hour, in seconds.
    #[serde(default = "default_retry_secs")]
    pub retry_secs: i64,
    /// Attempts before a step fails for good and the request goes to `failed`.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: i32,
    /// Days the subject may download the result; the scheduled sweep then deletes it.
    #[serde(default = "default_download_days")]
    pub download_days: i64,
    /// Lets a portability transmission go to a plain `http://` address (local tests only: personal
    /// data goes over https).
    #[serde(default)]
    pub allow_plain_http_transmit: bool,
}

const fn default_workers() -> usize {
    2
}
const fn default_poll_ms() -> u64 {
    250
}
const fn default_lease_secs() -> i64 {
    300
}
const fn default_retry_secs() -> i64 {
    5
}
const fn default_max_attempts() -> i32 {
    20
}
const fn default_download_days() -> i64 {
    30
}

impl Default for ExecutionSettings {
    fn default() -> Self {
        Self {
            workers: default_workers(),
            poll_ms: default_poll_ms(),
            lease_secs: default_lease_secs(),
            retry_secs: default_retry_secs(),
            max_attempts: default_max_attempts(),
            download_days: default_download_days(),
            allow_plain_http_transmit: false,
        }
    }
}

/// `[schedule]`: cron expressions (with seconds: `sec min hour day month weekday`), UTC.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSettings {
    /// Deadline reminders to the DPO and the sweeps of unchecked documents and of results past
    /// their download window; empty disables.
    #[serde(default = "default_reminders_cron")]
    pub reminders: String,
    /// Days before the due date at which the DPO is reminded of an open request (a reminder is
    /// also sent once a request is overdue).
    #[serde(default = "default_reminder_days")]
    pub reminder_days: Vec<i32>,
    /// The retention sweep of every store; empty disables.
    #[serde(default = "default_retention_cron")]
    pub retention: String,
}

fn default_retention_cron() -> String {
    "0 30 2 * * *".into()
}

fn default_reminders_cron() -> String {
    "0 0 7 * * *".into()
}
fn default_reminder_days() -> Vec<i32> {
    vec![7, 2]
}

impl Default for ScheduleSettings {
    fn default() -> Self {
        Self {
            reminders: default_reminders_cron(),
            reminder_days: default_reminder_days(),
            retention: default_retention_cron(),
        }
    }
}

impl Settings {
    /// Loads `file` (which must exist), or `config/rightful.toml` when present, or the defaults;
    /// then applies `RIGHTFUL_SECTION__KEY` overrides.
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        let env_file = crate::env::var("RIGHTFUL_CONFIG").map(PathBuf::from);
        let (path, required) = match file.map(Path::to_path_buf).or(env_file) {
            Some(p) => (p, true),
            None => (PathBuf::from(DEFAULT_FILE), false),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(SettingsError::Read {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        Self::from_parts(
            &path.display().to_string(),
            &text,
            &crate::env::setting_overrides(),
        )
    }

    /// Builds settings from a file's text and overrides `(variable, section, key, value)`. A
    /// mistake in the file names the file, its line and the key; a mistake in an override names
    /// the variable and the key (issue 13 item 5).
    pub fn from_parts(
        origin: &str,
        text: &str,
        overrides: &[(String, String, String, String)],
    ) -> Result<Self, SettingsError> {
        let invalid = |origin: &str, message: String| SettingsError::Invalid {
            origin: origin.to_owned(),
            message,
        };
        // The file alone first, with its spans: the line and the key of a mistake.
        let in_file = |e: toml::de::Error| {
            let at = e.span().map(|s| s.start);
            let origin = match at {
                Some(o) => format!(
                    "{origin}, line {}",
                    rightful_core::tomlpos::line_of(text, o)
                ),
                None => origin.to_owned(),
            };
            let message = e.message().trim().to_owned();
            let message = match at.and_then(|o| rightful_core::tomlpos::key_at(text, o)) {
                Some(key) => format!("`{key}`: {message}"),
                None => message,
            };
            invalid(&origin, message)
        };
        let mut table: toml::Table = toml::from_str(text).map_err(in_file)?;
        let mut settings: Self = toml::from_str(text).map_err(in_file)?;
        for (var, section, key, raw) in overrides {
            // A value that parses as TOML (numbers, booleans, arrays) keeps its type; anything
            // else is a string.
            let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or_else(|| toml::Value::String(raw.clone()));
            let entry = table
                .entry(section.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let Some(section_table) = entry.as_table_mut() else {
                return Err(invalid(
                    var,
                    format!("`{section}` is not a settings section"),
                ));
            };
            section_table.insert(key.clone(), value);
            // Checked one variable at a time, so that the error names the one that broke it.
            settings = Self::deserialize(toml::Value::Table(table.clone()))
                .map_err(|e| invalid(var, format!("`{section}.{key}`: {}", e.message().trim())))?;
        }
        settings.check(origin, text, overrides)?;
        settings.provenance = Provenance {
            file: origin.to_owned(),
            text: text.to_owned(),
            overrides: overrides
                .iter()
                .map(|o| (o.0.clone(), o.1.clone(), o.2.clone()))
                .collect(),
        };
        Ok(settings)
    }

    /// Checks what the types alone do not: `mail.language` is a template language.
    fn check(
        &self,
        origin: &str,
        text: &str,
        overrides: &[(String, String, String, String)],
    ) -> Result<(), SettingsError> {
        // Where a key's value came from: the last variable that set it, else the file's line.
        let whence = |section: &str, key: &str| {
            overrides
                .iter()
                .rev()
                .find(|o| o.1 == section && o.2 == key)
                .map(|o| o.0.clone())
                .unwrap_or_else(
                    || match rightful_core::tomlpos::key_line(text, &[section, key]) {
                        Some(line) => format!("{origin}, line {line}"),
                        None => origin.to_owned(),
                    },
                )
        };
        let language = self.mail.language.as_str();
        if !crate::notices::LANGUAGES.contains(&language) {
            return Err(SettingsError::Invalid {
                origin: whence("mail", "language"),
                message: format!(
                    "`mail.language`: `{language}` is not a template language: use {}",
                    crate::notices::LANGUAGES.join(" or ")
                ),
            });
        }
        Ok(())
    }

    /// The engine database URL: `storage.database_url`, or the SQLite file in the data
    /// directory (created `0700` if missing, tightened to `0700` if not).
    pub fn database_url(&self) -> Result<String, crate::EngineError> {
        if !self.storage.database_url.is_empty() {
            return Ok(self.storage.database_url.clone());
        }
        let dir = &self.storage.data_dir;
        rightful_store::private::dir(dir).map_err(|source| crate::EngineError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        Ok(dir.join("rightful.sqlite3").display().to_string())
    }

    /// Opens the engine database ([`Settings::database_url`]) with up to `max_size`
    /// connections; a failure names where the URL came from (the variable, or the file and
    /// line), never the URL.
    pub fn open_store(&self, max_size: u32) -> Result<rightful_store::Store, crate::EngineError> {
        let url = self.database_url()?;
        rightful_store::Store::open(&url, max_size)
            .map_err(|e| match e {
                rightful_store::StoreError::Connect(m) if !self.storage.database_url.is_empty() => {
                    rightful_store::StoreError::Connect(format!(
                        "{} (URL from `storage.database_url`: {})",
                        m.trim_end(),
                        self.whence(&["storage", "database_url"])
                    ))
                }
                other => other,
            })
            .map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ov(var: &str, value: &str) -> (String, String, String, String) {
        let rest = var.trim_start_matches("RIGHTFUL_").to_ascii_lowercase();
        let (s, k) = rest.split_once("__").unwrap();
        (var.into(), s.into(), k.into(), value.into())
    }

    #[test]
    fn defaults_apply_without_a_file() {
        let s = Settings::from_parts("none", "", &[]).unwrap();
        assert_eq!(s.server.listen, "127.0.0.1:8080");
        assert_eq!(s.policy.dir, PathBuf::from("config/policy"));
        assert_eq!(s.deadlines.identity_request_window_days, 5);
        assert_eq!(s.audit.anchor_every_secs, 60);
        assert!(s.audit.anchor_url.is_empty());
    }

    #[test]
    fn environment_overrides_win_and_keep_their_types() {
        let text = "[server]\nlisten = \"127.0.0.1:9000\"\n";
        let s = Settings::from_parts(
            "f.toml",
            text,
            &[
                ov("RIGHTFUL_SERVER__LISTEN", "0.0.0.0:8081"),
                ov("RIGHTFUL_STORAGE__POOL_SIZE", "3"),
                ov("RIGHTFUL_DEADLINES__ANSWER_EARLY_DAYS", "10"),
            ],
        )
        .unwrap();
        assert_eq!(s.server.listen, "0.0.0.0:8081");
        assert_eq!(s.storage.pool_size, 3);
        assert_eq!(s.deadlines.answer_early_days, 10);
    }

    #[test]
    fn unknown_keys_and_bad_values_name_their_origin() {
        let err = Settings::from_parts("f.toml", "[server]\nlisen = \"x\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("f.toml") && err.contains("lisen"), "{err}");
        let err = Settings::from_parts("f.toml", "", &[ov("RIGHTFUL_STORAGE__POOL_SIZE", "many")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("RIGHTFUL_STORAGE__POOL_SIZE"), "{err}");
    }

    // Issue 13 item 5: a settings mistake names the key and the line (or the variable).
    #[test]
    fn a_wrong_type_names_the_key_and_the_line() {
        let text = "[server]\nlisten = \"127.0.0.1:9000\"\n\n[storage]\npool_size = \"eight\"\n";
        let err = Settings::from_parts("f.toml", text, &[])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "invalid settings (f.toml, line 5): `storage.pool_size`: invalid type: string \"eight\", expected u32"
        );
        let err = Settings::from_parts("f.toml", "[server]\nlisen = \"x\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "invalid settings (f.toml, line 2): `server.lisen`: unknown field `lisen`"
            ),
            "{err}"
        );
        let err = Settings::from_parts("f.toml", "", &[ov("RIGHTFUL_STORAGE__POOL_SIZE", "many")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "invalid settings (RIGHTFUL_STORAGE__POOL_SIZE): `storage.pool_size`: invalid type: string \"many\", expected u32"
        );
    }

    // Issue 13 item 5: an unknown `mail.language` is refused.
    #[test]
    fn an_unknown_mail_language_is_refused_with_its_line() {
        let text = "[mail]\ntransport = \"outbox\"\nlanguage = \"de\"\n";
        let err = Settings::from_parts("f.toml", text, &[])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "invalid settings (f.toml, line 3): `mail.language`: `de` is not a template language: use en or fr"
        );
        let err = Settings::from_parts("f.toml", "", &[ov("RIGHTFUL_MAIL__LANGUAGE", "es")])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("invalid settings (RIGHTFUL_MAIL__LANGUAGE): "),
            "{err}"
        );
        assert!(Settings::from_parts("f.toml", "[mail]\nlanguage = \"fr\"\n", &[]).is_ok());
    }
}
