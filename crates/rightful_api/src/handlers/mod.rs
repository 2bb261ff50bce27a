//! One module per area, one file per endpoint.

pub mod audit;
pub mod auth;
pub mod drp;
pub mod health;
pub mod holds;
pub mod jwks;
pub mod register;
pub mod requests;
pub mod suppressions;
