//! Logging: structured `tracing` events on stderr, as text or JSON. Logs carry identifiers,
//! counts and durations, never personal data (docs/LOGGING.md).

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// A subscriber filtered by `RUST_LOG` (default `default_filter`), in `format` (`json` or text).
pub fn get_subscriber<W>(
    default_filter: &str,
    format: &str,
    sink: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    use std::io::IsTerminal;
    let ansi = std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(sink)
        .with_target(false)
        .with_ansi(ansi);
    if format == "json" {
        Box::new(builder.json().flatten_event(true).finish())
    } else {
        Box::new(builder.finish())
    }
}

/// Installs the subscriber for the process; a second call is ignored.
pub fn init_subscriber(subscriber: Box<dyn Subscriber + Send + Sync>) {
    let _ = tracing::subscriber::set_global_default(subscriber);
}
