//! End-to-end tests: in-process through actix's test service, plus a smoke test over a real port.

mod http;
mod identity;
mod register;
mod requests;
mod staff;
