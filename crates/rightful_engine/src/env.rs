//! Every environment variable Rightful reads goes through here, so that errors name the
//! variable and the list of variables lives in one place (`.env.example` documents them).
//!
//! - `RIGHTFUL_CONFIG`: the settings file (default `config/rightful.toml`).
//! - `RIGHTFUL_<SECTION>__<KEY>`: overrides one setting, e.g. `RIGHTFUL_SERVER__LISTEN=0.0.0.0:8080`.
//! - `RUST_LOG`: log filter (default `info`).
//! - `TEST_LOG`: tests print logs only when set.

/// The prefix of every Rightful variable.
pub const PREFIX: &str = "RIGHTFUL_";

/// Variables that are not setting overrides.
const NOT_SETTINGS: &[&str] = &["RIGHTFUL_CONFIG", "RIGHTFUL_TEST_PG_URL"];

/// The value of `name`, if set and valid UTF-8.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Every `RIGHTFUL_<SECTION>__<KEY>` variable as `(variable, section, key, value)`, sorted.
pub fn setting_overrides() -> Vec<(String, String, String, String)> {
    let mut out: Vec<(String, String, String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with(PREFIX) && !NOT_SETTINGS.contains(&k.as_str()))
        .filter_map(|(k, v)| {
            let rest = k[PREFIX.len()..].to_ascii_lowercase();
            let (section, key) = rest.split_once("__")?;
            Some((k.clone(), section.to_owned(), key.to_owned(), v))
        })
        .collect();
    out.sort();
    out
}
