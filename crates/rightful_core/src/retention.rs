//! Retention rules (Art. 5(1)(e), 13(2)(a), 30(1)(f)): how long each data category of a purpose is
//! kept, from which event, possibly depending on facts about the subject in other purposes
//! (after-sales data: 5 years from the request for a customer, otherwise 3).

use crate::duration::CalendarDuration;
use crate::policy::PurposeId;
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The event a retention period runs from, or that ends an "until" rule.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum StartEvent {
    /// The data was collected.
    Collection,
    /// The subject's request (inquiry, ticket, chat) was made.
    Request,
    /// The content was published (blog comment).
    Publication,
    /// The contract ended (last order delivered, warranty ended).
    EndOfContract,
    /// The subject's last activity.
    LastActivity,
    /// The subject withdrew consent or unsubscribed.
    Withdrawal,
    /// The person's role ended (site administrator).
    EndOfRole,
}

impl StartEvent {
    /// Every event, in configuration order.
    pub const ALL: [Self; 7] = [
        Self::Collection,
        Self::Request,
        Self::Publication,
        Self::EndOfContract,
        Self::LastActivity,
        Self::Withdrawal,
        Self::EndOfRole,
    ];

    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Collection => "collection",
            Self::Request => "request",
            Self::Publication => "publication",
            Self::EndOfContract => "end_of_contract",
            Self::LastActivity => "last_activity",
            Self::Withdrawal => "withdrawal",
            Self::EndOfRole => "end_of_role",
        }
    }

    /// Plain words for notices and the register.
    pub fn label(self) -> &'static str {
        match self {
            Self::Collection => "collection",
            Self::Request => "the request",
            Self::Publication => "publication",
            Self::EndOfContract => "the end of the contract",
            Self::LastActivity => "the last activity",
            Self::Withdrawal => "withdrawal of consent or unsubscription",
            Self::EndOfRole => "the end of the person's role",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|e| e.as_str() == s).ok_or_else(|| {
            format!(
                "unknown event `{s}`: use collection, request, publication, end_of_contract, last_activity, withdrawal or end_of_role"
            )
        })
    }
}

/// A retention period: a duration from an event, or until an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Period {
    /// Kept for `duration` from `from`.
    For {
        /// How long.
        duration: CalendarDuration,
        /// From which event.
        from: StartEvent,
    },
    /// Kept until `event` happens, then erased.
    Until {
        /// The ending event.
        event: StartEvent,
    },
}

impl Period {
    /// The last day the data may be kept, given the dates of the events known for a record;
    /// `None` when the event has not happened yet (the period has not started or not ended).
    pub fn end(&self, events: &BTreeMap<StartEvent, NaiveDate>) -> Option<NaiveDate> {
        match *self {
            Self::For { duration, from } => events.get(&from).and_then(|d| duration.after(*d)),
            Self::Until { event } => events.get(&event).copied(),
        }
    }
}

impl Period {
    /// The event whose date the period runs from (or that ends an "until" rule).
    pub fn event(&self) -> StartEvent {
        match *self {
            Self::For { from, .. } => from,
            Self::Until { event } => event,
        }
    }

    /// The latest event date that is past this period on `today`: a record whose event date is on
    /// or before the cutoff is expired (the same test as [`RetentionRule::expired`], turned into
    /// a bound a database can use).
    pub fn cutoff(&self, today: NaiveDate) -> Option<NaiveDate> {
        match *self {
            Self::Until { .. } => today.pred_opt(),
            Self::For { duration, .. } => {
                let mut c = duration.before(today)?;
                // Month clamping can put the estimate a few days off; step to the exact bound.
                while duration.after(c)? >= today {
                    c = c.pred_opt()?;
                }
                while duration.after(c.succ_opt()?)? < today {
                    c = c.succ_opt()?;
                }
                Some(c)
            }
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::For { duration, from } => write!(f, "{duration} from {}", from.label()),
            Self::Until { event } => write!(f, "until {}", event.label()),
        }
    }
}

/// A fact about the subject elsewhere in the policy that selects a retention case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "purpose", rename_all = "snake_case")]
pub enum Condition {
    /// The subject has records in that purpose (e.g. is a customer).
    AppearsIn(PurposeId),
    /// The subject has no record in that purpose.
    AbsentFrom(PurposeId),
}

impl Condition {
    fn holds(&self, present_in: &BTreeSet<PurposeId>) -> bool {
        match self {
            Self::AppearsIn(p) => present_in.contains(p),
            Self::AbsentFrom(p) => !present_in.contains(p),
        }
    }
}

/// One conditional case of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetentionCase {
    /// When it applies.
    pub condition: Condition,
    /// The period when it does.
    pub period: Period,
    /// Words for the register ("if the person is a customer").
    pub note: String,
}

/// The retention rule of one purpose × data category: the first case whose condition holds, or
/// the default period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetentionRule {
    /// Conditional cases, tried in order.
    pub cases: Vec<RetentionCase>,
    /// The period when no case applies.
    pub default: Period,
    /// Words for the register.
    pub note: String,
    /// How long after the rule's event the records leave the active base for the intermediate
    /// archive (restricted access, kept only for legal or evidence needs; checklist F1), when
    /// the policy says so. They are erased when the period ends, like the others.
    pub archive_after: Option<CalendarDuration>,
}

impl RetentionRule {
    /// A rule with one period and no cases.
    pub fn simple(period: Period) -> Self {
        Self {
            cases: Vec::new(),
            default: period,
            note: String::new(),
            archive_after: None,
        }
    }

    /// Every period the rule can apply: the default, then each case's.
    pub fn periods(&self) -> impl Iterator<Item = Period> + '_ {
        std::iter::once(self.default).chain(self.cases.iter().map(|c| c.period))
    }

    /// The cut-offs of the longest and the shortest period on `today` (`(earliest, latest)`): a
    /// record dated on or before the first is past every period, one after the second within
    /// all of them.
    pub fn cutoff_range(&self, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
        let cutoffs: Vec<NaiveDate> = self.periods().filter_map(|p| p.cutoff(today)).collect();
        Some((*cutoffs.iter().min()?, *cutoffs.iter().max()?))
    }

    /// The period after which records move to the intermediate archive, from the rule's event.
    pub fn archive_period(&self) -> Option<Period> {
        self.archive_after.map(|duration| Period::For {
            duration,
            from: self.default.event(),
        })
    }

    /// The period that applies to a subject present in `present_in` purposes.
    pub fn period_for(&self, present_in: &BTreeSet<PurposeId>) -> Period {
        self.cases
            .iter()
            .find(|c| c.condition.holds(present_in))
            .map_or(self.default, |c| c.period)
    }

    /// The last day a record may be kept, or `None` while its period has not run out of a known
    /// date (event not yet happened).
    pub fn end(
        &self,
        present_in: &BTreeSet<PurposeId>,
        events: &BTreeMap<StartEvent, NaiveDate>,
    ) -> Option<NaiveDate> {
        self.period_for(present_in).end(events)
    }

    /// Whether the record is past its retention on `today` (kept through its last day).
    pub fn expired(
        &self,
        present_in: &BTreeSet<PurposeId>,
        events: &BTreeMap<StartEvent, NaiveDate>,
        today: NaiveDate,
    ) -> bool {
        self.end(present_in, events).is_some_and(|end| today > end)
    }

    /// The rule in words for the register: "5 years from the request if the person is a
    /// customer; otherwise 3 years from the request".
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self
            .cases
            .iter()
            .map(|c| {
                let cond = if c.note.is_empty() {
                    match &c.condition {
                        Condition::AppearsIn(p) => format!("if the person appears in `{p}`"),
                        Condition::AbsentFrom(p) => {
                            format!("if the person does not appear in `{p}`")
                        }
                    }
                } else {
                    c.note.clone()
                };
                format!("{} {cond}", c.period)
            })
            .collect();
        let default = self.default.to_string();
        parts.push(if self.cases.is_empty() {
            default
        } else {
            format!("otherwise {default}")
        });
        let mut text = parts.join("; ");
        if let Some(a) = self.archive_after {
            text.push_str(&format!(
                "; in the intermediate archive (restricted access) {a} after {}",
                self.default.event().label()
            ));
        }
        if self.note.is_empty() {
            text
        } else {
            format!("{text} ({})", self.note)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn after_sales() -> RetentionRule {
        RetentionRule {
            cases: vec![RetentionCase {
                condition: Condition::AppearsIn(PurposeId::parse("orders").unwrap()),
                period: Period::For {
                    duration: CalendarDuration::years(5),
                    from: StartEvent::Request,
                },
                note: "if the person is a customer".into(),
            }],
            default: Period::For {
                duration: CalendarDuration::years(3),
                from: StartEvent::Request,
            },
            note: String::new(),
            archive_after: None,
        }
    }

    #[test]
    fn after_sales_data_is_kept_five_years_for_a_customer_and_three_otherwise() {
        let rule = after_sales();
        let events = BTreeMap::from([(StartEvent::Request, d("2020-03-10"))]);
        let customer = BTreeSet::from([PurposeId::parse("orders").unwrap()]);
        let stranger = BTreeSet::new();
        assert_eq!(rule.end(&customer, &events), Some(d("2025-03-10")));
        assert_eq!(rule.end(&stranger, &events), Some(d("2023-03-10")));
        assert!(!rule.expired(&customer, &events, d("2025-03-10")));
        assert!(rule.expired(&customer, &events, d("2025-03-11")));
        assert!(rule.expired(&stranger, &events, d("2024-01-01")));
        assert_eq!(
            rule.describe(),
            "5 years from the request if the person is a customer; otherwise 3 years from the request"
        );
    }

    #[test]
    fn until_rules_run_out_only_once_the_event_happened() {
        let rule = RetentionRule::simple(Period::Until {
            event: StartEvent::Withdrawal,
        });
        let none = BTreeSet::new();
        let subscribed = BTreeMap::from([(StartEvent::Collection, d("2019-01-01"))]);
        assert_eq!(rule.end(&none, &subscribed), None);
        assert!(!rule.expired(&none, &subscribed, d("2099-01-01")));
        let unsubscribed = BTreeMap::from([(StartEvent::Withdrawal, d("2024-05-02"))]);
        assert!(rule.expired(&none, &unsubscribed, d("2024-05-03")));
        assert!(!rule.expired(&none, &unsubscribed, d("2024-05-02")));
    }

    proptest::proptest! {
        #[test]
        fn the_cutoff_agrees_with_expiry(start in 0i64..20_000, today in 0i64..20_000, n in 0u32..30, unit in 0u8..3) {
            let base = d("2000-01-01");
            let (start, today) = (base + chrono::Duration::days(start), base + chrono::Duration::days(today));
            let duration = match unit { 0 => CalendarDuration::days(n * 13), 1 => CalendarDuration::months(n), _ => CalendarDuration::years(n % 12) };
            let period = Period::For { duration, from: StartEvent::Request };
            let rule = RetentionRule::simple(period);
            let events = BTreeMap::from([(StartEvent::Request, start)]);
            let expired = rule.expired(&BTreeSet::new(), &events, today);
            proptest::prop_assert_eq!(start <= period.cutoff(today).unwrap(), expired);
        }
    }

    #[test]
    fn until_rules_cut_off_the_day_before_today() {
        let p = Period::Until {
            event: StartEvent::Withdrawal,
        };
        assert_eq!(p.cutoff(d("2026-03-01")), Some(d("2026-02-28")));
        assert_eq!(
            Period::For {
                duration: CalendarDuration::months(12),
                from: StartEvent::Collection
            }
            .cutoff(d("2026-11-27")),
            Some(d("2025-11-26"))
        );
    }

    #[test]
    fn a_period_from_an_event_that_has_not_happened_never_expires() {
        let rule = RetentionRule::simple(Period::For {
            duration: CalendarDuration::years(10),
            from: StartEvent::EndOfContract,
        });
        let running = BTreeMap::from([(StartEvent::Collection, d("2001-01-01"))]);
        assert!(!rule.expired(&BTreeSet::new(), &running, d("2030-01-01")));
    }
}
