//! Request states and the transitions allowed between them (SPEC §4), in one place.
//!
//! `received` → `identity_pending` → `awaiting_review` → `approved` | `denied` → `in_progress` →
//! `completed` | `failed`; plus `extended` (deadline moved), `withdrawn` by the subject and
//! `paused` while a store is unreachable.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The state of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Just received; the clock runs (A1).
    Received,
    /// Waiting for the subject to prove identity; the clock is paused (A5).
    IdentityPending,
    /// Identity settled; waiting for the DPO.
    AwaitingReview,
    /// The deadline was extended (A4); still waiting for the DPO.
    Extended,
    /// Approved; execution not started yet.
    Approved,
    /// Refused, with a notice (A10).
    Denied,
    /// Being carried out in the stores.
    InProgress,
    /// A store is unreachable; execution resumes later.
    Paused,
    /// Carried out everywhere.
    Completed,
    /// Execution failed and needs the DPO.
    Failed,
    /// Withdrawn by the subject.
    Withdrawn,
}

impl Status {
    /// Every status.
    pub const ALL: [Self; 11] = [
        Self::Received,
        Self::IdentityPending,
        Self::AwaitingReview,
        Self::Extended,
        Self::Approved,
        Self::Denied,
        Self::InProgress,
        Self::Paused,
        Self::Completed,
        Self::Failed,
        Self::Withdrawn,
    ];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::IdentityPending => "identity_pending",
            Self::AwaitingReview => "awaiting_review",
            Self::Extended => "extended",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::InProgress => "in_progress",
            Self::Paused => "paused",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Withdrawn => "withdrawn",
        }
    }

    /// Whether no further transition is possible.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Denied | Self::Completed | Self::Withdrawn)
    }

    /// The states this one may move to.
    pub fn next(self) -> &'static [Self] {
        use Status as S;
        match self {
            S::Received => &[
                S::IdentityPending,
                S::AwaitingReview,
                S::Denied,
                S::Withdrawn,
            ],
            S::IdentityPending => &[S::AwaitingReview, S::Denied, S::Withdrawn],
            S::AwaitingReview => &[
                S::IdentityPending,
                S::Extended,
                S::Approved,
                S::Denied,
                S::Withdrawn,
            ],
            S::Extended => &[S::IdentityPending, S::Approved, S::Denied, S::Withdrawn],
            S::Approved => &[S::InProgress, S::Withdrawn],
            S::InProgress => &[S::Paused, S::Completed, S::Failed],
            S::Paused => &[S::InProgress, S::Failed],
            S::Failed => &[S::InProgress],
            S::Denied | S::Completed | S::Withdrawn => &[],
        }
    }

    /// Checks a transition.
    pub fn transition(self, to: Self) -> Result<Self, InvalidTransition> {
        if self.next().contains(&to) {
            Ok(to)
        } else {
            Err(InvalidTransition { from: self, to })
        }
    }
}

/// A transition the lifecycle does not allow (an API answers 409).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a request cannot go from `{from}` to `{to}`")]
pub struct InvalidTransition {
    /// Current state.
    pub from: Status,
    /// Asked-for state.
    pub to: Status,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("unknown status `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_happy_path_is_allowed_step_by_step() {
        let path = [
            Status::Received,
            Status::IdentityPending,
            Status::AwaitingReview,
            Status::Approved,
            Status::InProgress,
            Status::Paused,
            Status::InProgress,
            Status::Completed,
        ];
        for w in path.windows(2) {
            assert_eq!(w[0].transition(w[1]), Ok(w[1]));
        }
    }

    #[test]
    fn final_states_go_nowhere_and_completion_needs_execution() {
        for s in Status::ALL.into_iter().filter(|s| s.is_final()) {
            assert!(s.next().is_empty());
        }
        assert!(
            Status::AwaitingReview
                .transition(Status::Completed)
                .is_err()
        );
        assert!(Status::InProgress.transition(Status::Withdrawn).is_err());
        assert_eq!(
            Status::Completed
                .transition(Status::InProgress)
                .unwrap_err()
                .to_string(),
            "a request cannot go from `completed` to `in_progress`"
        );
    }

    #[test]
    fn statuses_round_trip_through_their_stored_spelling() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>(), Ok(s));
        }
    }
}
