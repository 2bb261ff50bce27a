//! The audit trail, for auditors.

pub mod anchors;
pub mod get;
pub mod verify;
