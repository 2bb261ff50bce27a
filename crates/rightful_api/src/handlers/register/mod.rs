//! The register of processing activities.

pub mod get;
