//! The DPO's request queue.

pub mod list;
