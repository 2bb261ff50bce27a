//! One module per area, one file per endpoint.

pub mod health;
pub mod register;
