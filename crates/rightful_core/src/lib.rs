#![doc = include_str!("../README.md")]
//!
//! Errors: policy loading returns [`policy::PolicyErrors`] (every problem, each with file, purpose
//! and field); the other modules return their own small error enums.

pub mod audit;
pub mod deadline;
pub mod details;
pub mod duration;
pub mod evidence;
pub mod intake;
pub mod lifecycle;
pub mod policy;
pub mod register;
pub mod retention;
pub mod rights;
pub mod storemap;
pub mod tomldate;
pub mod tomlpos;

pub use policy::{Policy, PurposeId};
