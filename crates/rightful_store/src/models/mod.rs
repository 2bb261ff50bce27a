//! One file per table family: row structs, borrowed `New*` inserts, and functions that take the
//! connection first and return `Result<_, StoreError>`.

pub mod audit;
pub mod audit_anchor;
pub mod challenge;
pub mod directive;
pub mod document;
pub mod drp;
pub mod hold;
pub mod job;
pub mod notification;
pub mod outbox;
pub mod quota;
pub mod reminder;
pub mod request;
pub mod result;
pub mod staff;
pub mod suppression;
