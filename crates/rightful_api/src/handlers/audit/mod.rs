//! The audit trail, for auditors.

pub mod get;
pub mod verify;
