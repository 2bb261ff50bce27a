//! Staff sign-in.

pub mod token;
