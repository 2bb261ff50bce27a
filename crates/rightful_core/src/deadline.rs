//! Art. 12(3) GDPR time limits: one month from receipt, extendable by two further months, counted
//! as Regulation 1182/71 Art. 3 does, and paused while the controller waits for identity
//! information it asked for (décret 2019-536; checklist A2, A4, A5).
//!
//! - The day of receipt is not counted (R1182 Art. 3(1)); a period in months ends on the same date
//!   of the last month, or on its last day when that date does not exist (Art. 3(2)(c)).
//! - A period ending on a Saturday, a Sunday or a public holiday runs to the end of the next
//!   working day (Art. 3(4)). Public holidays are the French ones, computed for any year, plus any
//!   extra closing days the operator configures.

use crate::duration::add_months;
use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Which days count as working days.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Calendar {
    /// Extra closing days on top of weekends and French public holidays (configuration).
    #[serde(default, deserialize_with = "crate::tomldate::set")]
    pub extra_closed_days: BTreeSet<NaiveDate>,
}

impl Calendar {
    /// A calendar with the French public holidays and these extra closing days.
    pub fn with_extra_closed_days(days: impl IntoIterator<Item = NaiveDate>) -> Self {
        Self {
            extra_closed_days: days.into_iter().collect(),
        }
    }

    /// Whether `day` is a working day: not a Saturday, Sunday, French public holiday or extra
    /// closing day.
    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
            && !is_french_public_holiday(day)
            && !self.extra_closed_days.contains(&day)
    }

    /// `day` itself when it is a working day, else the next working day (R1182 Art. 3(4)).
    pub fn roll_forward(&self, day: NaiveDate) -> NaiveDate {
        let mut d = day;
        // At most a handful of iterations: weekends plus adjacent holidays.
        while !self.is_working_day(d) {
            match d.succ_opt() {
                Some(next) => d = next,
                None => return d,
            }
        }
        d
    }
}

/// Easter Sunday of `year` in the Gregorian calendar (anonymous Gregorian algorithm, also known
/// as Meeus/Jones/Butcher).
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c.div_euclid(4);
    let k = c.rem_euclid(4);
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l).div_euclid(451);
    let month = (h + l - 7 * m + 114).div_euclid(31);
    let day = (h + l - 7 * m + 114).rem_euclid(31) + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

/// The eleven French public holidays (Code du travail L3133-1) of `year`: 1 January, Easter
/// Monday, 1 May, 8 May, Ascension, Whit Monday, 14 July, 15 August, 1 November, 11 November,
/// 25 December.
pub fn french_public_holidays(year: i32) -> Vec<NaiveDate> {
    let fixed = [
        (1, 1),
        (5, 1),
        (5, 8),
        (7, 14),
        (8, 15),
        (11, 1),
        (11, 11),
        (12, 25),
    ];
    let mut days: Vec<NaiveDate> = fixed
        .iter()
        .filter_map(|&(m, d)| NaiveDate::from_ymd_opt(year, m, d))
        .collect();
    if let Some(easter) = easter_sunday(year) {
        for offset in [1u64, 39, 50] {
            if let Some(day) = easter.checked_add_days(Days::new(offset)) {
                days.push(day);
            }
        }
    }
    days.sort();
    days
}

/// Whether `day` is a French public holiday.
pub fn is_french_public_holiday(day: NaiveDate) -> bool {
    french_public_holidays(day.year()).contains(&day)
}

/// A stretch of time during which the clock stood still, waiting for identity information
/// (checklist A5). `resumed` is `None` while still waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    /// The day the controller asked for the information.
    pub paused: NaiveDate,
    /// The day the information arrived, if it has.
    pub resumed: Option<NaiveDate>,
}

impl Pause {
    /// The whole days this pause lasted, counting up to `today` while it is still open.
    pub fn days(&self, today: NaiveDate) -> u64 {
        let end = self.resumed.unwrap_or(today);
        u64::try_from((end - self.paused).num_days()).unwrap_or(0)
    }
}

/// Deadline settings from configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineRules {
    /// Working days: weekends, French holidays, extra closing days.
    #[serde(default)]
    pub calendar: Calendar,
    /// A5: a pause counts only if identity information was asked for within this many days of
    /// receipt ("without undue delay"). Default 5.
    #[serde(default = "default_pause_window")]
    pub identity_request_window_days: u32,
    /// A3: the internal "answer early" target, in days from receipt; shorter than the legal limit.
    #[serde(default = "default_answer_early")]
    pub answer_early_days: u32,
}

const fn default_pause_window() -> u32 {
    5
}
const fn default_answer_early() -> u32 {
    15
}

impl Default for DeadlineRules {
    fn default() -> Self {
        Self {
            calendar: Calendar::default(),
            identity_request_window_days: default_pause_window(),
            answer_early_days: default_answer_early(),
        }
    }
}

/// Why an extension was refused (checklist A4).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionError {
    /// Art. 12(3): the subject must be told the reasons; an extension without them is refused.
    #[error("an extension needs a reason code and reasons given to the data subject")]
    MissingReason,
    /// Art. 12(3): the extension must be notified within the first month.
    #[error("the first month ended on {due}; an extension is no longer possible")]
    TooLate {
        /// The one-month due date that has passed.
        due: NaiveDate,
    },
    /// The request was already extended once; two further months is the ceiling.
    #[error("the request was already extended")]
    AlreadyExtended,
}

/// Reasons accepted for an extension (Art. 12(3): complexity and number of requests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtensionReason {
    /// The request is complex (EDPB-A §163: a large effort alone is not complexity).
    Complexity,
    /// The subject sent a number of requests at once.
    NumberOfRequests,
}

/// The clock of one request: when it was received, its pauses, and whether it was extended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    /// The day of receipt (A1): immutable, whatever queue the request moves through.
    pub received: NaiveDate,
    /// Pauses while waiting for identity information.
    #[serde(default)]
    pub pauses: Vec<Pause>,
    /// Whether the two-month extension was granted.
    #[serde(default)]
    pub extended: bool,
}

impl Clock {
    /// A fresh clock started on `received`.
    pub fn new(received: NaiveDate) -> Self {
        Self {
            received,
            pauses: Vec::new(),
            extended: false,
        }
    }

    /// The paused days that count (A5): only pauses asked for within the configured window
    /// after receipt.
    pub fn paused_days(&self, rules: &DeadlineRules, today: NaiveDate) -> u64 {
        let window = Days::new(u64::from(rules.identity_request_window_days));
        let latest = self
            .received
            .checked_add_days(window)
            .unwrap_or(self.received);
        self.pauses
            .iter()
            .filter(|p| p.paused <= latest)
            .map(|p| p.days(today))
            .sum()
    }

    /// The one-month due date, without the extension but with counted pauses.
    pub fn first_month_due(&self, rules: &DeadlineRules, today: NaiveDate) -> NaiveDate {
        let end = add_months(self.received, 1).unwrap_or(self.received);
        self.finish(end, rules, today)
    }

    /// The due date in force today: one month, or three when extended (A4), plus counted pauses,
    /// moved to the next working day.
    ///
    /// A4 ⚠: for an extension, counting three months from receipt and chaining one month then two
    /// can differ (31 January 2025: 30 April against 28 April). We take the earlier date, the
    /// safer reading for the subject.
    pub fn due(&self, rules: &DeadlineRules, today: NaiveDate) -> NaiveDate {
        if !self.extended {
            return self.first_month_due(rules, today);
        }
        let direct = add_months(self.received, 3);
        let chained = add_months(self.received, 1).and_then(|d| add_months(d, 2));
        let end = match (direct, chained) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => self.received,
        };
        self.finish(end, rules, today)
    }

    /// The internal "answer early" target (A3), not moved by holidays.
    pub fn answer_early(&self, rules: &DeadlineRules) -> NaiveDate {
        self.received
            .checked_add_days(Days::new(u64::from(rules.answer_early_days)))
            .unwrap_or(self.received)
    }

    /// Grants the two-month extension (A4): only with a reason, only within the first month,
    /// only once.
    pub fn extend(
        &mut self,
        reason: Option<ExtensionReason>,
        reasons_text: &str,
        rules: &DeadlineRules,
        today: NaiveDate,
    ) -> Result<NaiveDate, ExtensionError> {
        if self.extended {
            return Err(ExtensionError::AlreadyExtended);
        }
        if reason.is_none() || reasons_text.trim().is_empty() {
            return Err(ExtensionError::MissingReason);
        }
        let due = self.first_month_due(rules, today);
        if today > due {
            return Err(ExtensionError::TooLate { due });
        }
        self.extended = true;
        Ok(self.due(rules, today))
    }

    fn finish(&self, end: NaiveDate, rules: &DeadlineRules, today: NaiveDate) -> NaiveDate {
        let paused = Days::new(self.paused_days(rules, today));
        rules
            .calendar
            .roll_forward(end.checked_add_days(paused).unwrap_or(end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn due(received: &str) -> NaiveDate {
        Clock::new(d(received)).due(&DeadlineRules::default(), d(received))
    }

    #[test]
    fn a2_every_vector_of_the_checklist() {
        // Checklist A2: (receipt, due date).
        let vectors = [
            ("2025-03-05", "2025-04-07"), // 2025-04-05 is a Saturday
            ("2025-08-31", "2025-09-30"), // no 31 September
            ("2026-01-31", "2026-03-02"), // 28 February 2026 is a Saturday
            ("2028-01-31", "2028-02-29"), // leap year
            ("2025-06-14", "2025-07-15"), // 14 July is a holiday
            ("2025-10-11", "2025-11-12"), // 11 November is a holiday
        ];
        for (received, expected) in vectors {
            assert_eq!(due(received), d(expected), "received {received}");
        }
    }

    #[test]
    fn easter_is_right_for_known_years() {
        for (year, easter) in [
            (2024, "2024-03-31"),
            (2025, "2025-04-20"),
            (2026, "2026-04-05"),
            (2038, "2038-04-25"),
            (2285, "2285-03-22"),
            (1961, "1961-04-02"),
        ] {
            assert_eq!(easter_sunday(year), Some(d(easter)), "{year}");
        }
    }

    #[test]
    fn movable_holidays_follow_easter() {
        let h = french_public_holidays(2026);
        assert_eq!(h.len(), 11);
        for day in ["2026-04-06", "2026-05-14", "2026-05-25"] {
            assert!(h.contains(&d(day)), "{day}");
        }
        // A request received the day before a one-month period ending on Ascension 2026.
        assert_eq!(due("2026-04-14"), d("2026-05-15"));
    }

    #[test]
    fn extra_closing_days_from_configuration_move_the_deadline() {
        let rules = DeadlineRules {
            calendar: Calendar::with_extra_closed_days([d("2025-09-30")]),
            ..DeadlineRules::default()
        };
        let clock = Clock::new(d("2025-08-31"));
        assert_eq!(clock.due(&rules, d("2025-09-01")), d("2025-10-01"));
    }

    #[test]
    fn a4_extension_needs_a_reason_and_the_first_month() {
        let rules = DeadlineRules::default();
        let mut clock = Clock::new(d("2025-01-31"));
        let today = d("2025-02-10");
        assert_eq!(
            clock.extend(None, "complex", &rules, today),
            Err(ExtensionError::MissingReason)
        );
        assert_eq!(
            clock.extend(Some(ExtensionReason::Complexity), "  ", &rules, today),
            Err(ExtensionError::MissingReason)
        );
        assert!(!clock.extended);
        let late = d("2025-03-01");
        assert_eq!(
            clock.extend(
                Some(ExtensionReason::Complexity),
                "many stores",
                &rules,
                late
            ),
            Err(ExtensionError::TooLate {
                due: d("2025-02-28")
            })
        );
        // A4 ⚠: chained (28 April) is earlier than direct (30 April); we keep the earlier.
        let extended = clock.extend(
            Some(ExtensionReason::Complexity),
            "many stores",
            &rules,
            today,
        );
        assert_eq!(extended, Ok(d("2025-04-28")));
        assert_eq!(
            clock.extend(Some(ExtensionReason::Complexity), "again", &rules, today),
            Err(ExtensionError::AlreadyExtended)
        );
    }

    #[test]
    fn a4_extension_on_the_last_day_of_the_first_month_is_still_allowed() {
        let rules = DeadlineRules::default();
        let mut clock = Clock::new(d("2025-03-05"));
        let last_day = clock.first_month_due(&rules, d("2025-03-05"));
        assert_eq!(last_day, d("2025-04-07"));
        let extended = clock.extend(
            Some(ExtensionReason::NumberOfRequests),
            "12 requests",
            &rules,
            last_day,
        );
        assert_eq!(extended, Ok(d("2025-06-05")));
    }

    #[test]
    fn a5_waiting_for_identity_moves_the_due_date_by_the_paused_days() {
        let rules = DeadlineRules::default();
        let mut clock = Clock::new(d("2025-08-31"));
        clock.pauses.push(Pause {
            paused: d("2025-09-02"),
            resumed: Some(d("2025-09-12")),
        });
        // 30 September + 10 days = 10 October (a Friday).
        assert_eq!(clock.due(&rules, d("2025-09-20")), d("2025-10-10"));
        // An open pause keeps pushing the date while it lasts.
        let mut open = Clock::new(d("2025-08-31"));
        open.pauses.push(Pause {
            paused: d("2025-09-01"),
            resumed: None,
        });
        assert_eq!(open.due(&rules, d("2025-09-04")), d("2025-10-03"));
    }

    #[test]
    fn a5_a_late_identity_request_does_not_pause_the_clock() {
        let rules = DeadlineRules {
            identity_request_window_days: 5,
            ..DeadlineRules::default()
        };
        let mut clock = Clock::new(d("2025-08-31"));
        clock.pauses.push(Pause {
            paused: d("2025-09-15"),
            resumed: Some(d("2025-09-25")),
        });
        assert_eq!(clock.due(&rules, d("2025-09-26")), d("2025-09-30"));
    }

    #[test]
    fn a3_answer_early_target_is_before_the_legal_deadline() {
        let rules = DeadlineRules::default();
        let clock = Clock::new(d("2025-03-05"));
        assert!(clock.answer_early(&rules) < clock.due(&rules, d("2025-03-05")));
    }

    proptest! {
        #[test]
        fn the_due_date_is_a_working_day_within_a_month_and_four_days(days in 0i64..40_000) {
            let received = d("2000-01-01") + chrono::Duration::days(days);
            let rules = DeadlineRules::default();
            let due = Clock::new(received).due(&rules, received);
            prop_assert!(rules.calendar.is_working_day(due));
            let plain = add_months(received, 1).unwrap();
            prop_assert!(due >= plain);
            // The longest run of closed days in France is four (e.g. Sat–Sun–Mon holiday).
            prop_assert!((due - plain).num_days() <= 4);
        }

        #[test]
        fn a_later_receipt_never_gives_an_earlier_due_date(days in 0i64..40_000) {
            let rules = DeadlineRules::default();
            let a = d("2000-01-01") + chrono::Duration::days(days);
            let b = a + chrono::Duration::days(1);
            prop_assert!(Clock::new(a).due(&rules, a) <= Clock::new(b).due(&rules, b));
        }
    }
}
