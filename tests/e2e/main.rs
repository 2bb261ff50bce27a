//! End-to-end tests: in-process through actix's test service, plus a smoke test over a real port.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

mod http;
mod register;
