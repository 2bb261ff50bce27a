//! Calendar durations ("6 months", "2 years", "30 days") and date arithmetic that counts months
//! the way Regulation (EEC, Euratom) 1182/71 Art. 3(2)(c) does: a period in months ends on the
//! same date in the last month, or on that month's last day when the date does not exist there
//! (31 January + 1 month = 28 or 29 February).

use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The unit of a [`CalendarDuration`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Calendar days.
    Days,
    /// Calendar months (R1182 Art. 3(2)(c)).
    Months,
    /// Calendar years, counted as twelve months.
    Years,
}

/// A whole number of days, months or years, written in configuration as `"6 months"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CalendarDuration {
    /// How many units.
    pub count: u32,
    /// Which unit.
    pub unit: Unit,
}

/// A duration that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a duration: write a whole number then days, months or years, e.g. \"6 months\""
)]
pub struct DurationParseError(pub String);

impl CalendarDuration {
    /// `count` months.
    pub const fn months(count: u32) -> Self {
        Self {
            count,
            unit: Unit::Months,
        }
    }

    /// `count` years.
    pub const fn years(count: u32) -> Self {
        Self {
            count,
            unit: Unit::Years,
        }
    }

    /// `count` days.
    pub const fn days(count: u32) -> Self {
        Self {
            count,
            unit: Unit::Days,
        }
    }

    /// The date this duration after `from`, months counted as R1182 does. `None` only when the
    /// result would leave chrono's calendar (year 262,000 or so).
    pub fn after(self, from: NaiveDate) -> Option<NaiveDate> {
        match self.unit {
            Unit::Days => from.checked_add_days(Days::new(u64::from(self.count))),
            Unit::Months => add_months(from, self.count),
            Unit::Years => add_months(from, self.count.checked_mul(12)?),
        }
    }

    /// About this duration before `to` (months clamped); [`crate::retention::Period::cutoff`]
    /// refines it to the exact day.
    pub fn before(self, to: NaiveDate) -> Option<NaiveDate> {
        match self.unit {
            Unit::Days => to.checked_sub_days(Days::new(u64::from(self.count))),
            Unit::Months => sub_months(to, self.count),
            Unit::Years => sub_months(to, self.count.checked_mul(12)?),
        }
    }

    /// The ISO 8601 form (`P12M`, `P10Y`, `P30D`) used by the JSON-LD register.
    pub fn iso8601(self) -> String {
        let letter = match self.unit {
            Unit::Days => 'D',
            Unit::Months => 'M',
            Unit::Years => 'Y',
        };
        format!("P{}{letter}", self.count)
    }
}

/// `date` minus `months` calendar months, the day clamped to the target month's last day.
pub fn sub_months(date: NaiveDate, months: u32) -> Option<NaiveDate> {
    let total = i64::from(date.year()) * 12 + i64::from(date.month0()) - i64::from(months);
    let year = i32::try_from(total.div_euclid(12)).ok()?;
    let month0 = u32::try_from(total.rem_euclid(12)).ok()?;
    let last = last_day_of_month(year, month0 + 1)?;
    NaiveDate::from_ymd_opt(year, month0 + 1, date.day().min(last))
}

/// `date` plus `months` calendar months; the day is clamped to the last day of the target month
/// (R1182 Art. 3(2)(c)).
pub fn add_months(date: NaiveDate, months: u32) -> Option<NaiveDate> {
    let total = i64::from(date.year()) * 12 + i64::from(date.month0()) + i64::from(months);
    let year = i32::try_from(total.div_euclid(12)).ok()?;
    let month0 = u32::try_from(total.rem_euclid(12)).ok()?;
    let last = last_day_of_month(year, month0 + 1)?;
    NaiveDate::from_ymd_opt(year, month0 + 1, date.day().min(last))
}

/// The number of days in `month` (1–12) of `year`.
pub fn last_day_of_month(year: i32, month: u32) -> Option<u32> {
    let (ny, nm) = if month == 12 {
        (year.checked_add(1)?, 1)
    } else {
        (year, month + 1)
    };
    let first_next = NaiveDate::from_ymd_opt(ny, nm, 1)?;
    first_next.pred_opt().map(|d| d.day())
}

impl FromStr for CalendarDuration {
    type Err = DurationParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || DurationParseError(s.to_owned());
        let mut parts = s.split_whitespace();
        let count: u32 = parts.next().ok_or_else(err)?.parse().map_err(|_| err())?;
        let unit = match parts.next().ok_or_else(err)? {
            "day" | "days" => Unit::Days,
            "month" | "months" => Unit::Months,
            "year" | "years" => Unit::Years,
            _ => return Err(err()),
        };
        if parts.next().is_some() {
            return Err(err());
        }
        Ok(Self { count, unit })
    }
}

impl fmt::Display for CalendarDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (one, many) = match self.unit {
            Unit::Days => ("day", "days"),
            Unit::Months => ("month", "months"),
            Unit::Years => ("year", "years"),
        };
        write!(
            f,
            "{} {}",
            self.count,
            if self.count == 1 { one } else { many }
        )
    }
}

impl Serialize for CalendarDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CalendarDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_month_after_the_31st_ends_on_the_last_day_of_a_shorter_month() {
        assert_eq!(add_months(d("2025-01-31"), 1), Some(d("2025-02-28")));
        assert_eq!(add_months(d("2028-01-31"), 1), Some(d("2028-02-29")));
        assert_eq!(add_months(d("2025-08-31"), 1), Some(d("2025-09-30")));
        assert_eq!(add_months(d("2025-12-15"), 1), Some(d("2026-01-15")));
    }

    #[test]
    fn durations_parse_and_print_in_configuration_form() {
        let ten: CalendarDuration = "10 years".parse().unwrap();
        assert_eq!(ten, CalendarDuration::years(10));
        assert_eq!(ten.to_string(), "10 years");
        assert_eq!(
            "1 month".parse::<CalendarDuration>().unwrap().to_string(),
            "1 month"
        );
        assert_eq!(CalendarDuration::months(12).iso8601(), "P12M");
        for bad in [
            "",
            "12",
            "twelve months",
            "12 weeks",
            "-1 days",
            "3 years ago",
        ] {
            assert!(
                bad.parse::<CalendarDuration>().is_err(),
                "{bad} should not parse"
            );
        }
    }

    #[test]
    fn years_are_twelve_months_so_a_leap_day_lands_on_the_28th() {
        assert_eq!(
            CalendarDuration::years(1).after(d("2024-02-29")),
            Some(d("2025-02-28"))
        );
        assert_eq!(
            CalendarDuration::years(10).after(d("2020-06-30")),
            Some(d("2030-06-30"))
        );
    }

    proptest! {
        #[test]
        fn adding_months_keeps_the_day_or_clamps_to_month_end(
            y in 1900i32..2200, m in 1u32..=12, day in 1u32..=31, n in 0u32..400
        ) {
            let last = last_day_of_month(y, m).unwrap();
            let start = NaiveDate::from_ymd_opt(y, m, day.min(last)).unwrap();
            let end = add_months(start, n).unwrap();
            let months_apart = (end.year() - start.year()) * 12 + end.month() as i32 - start.month() as i32;
            prop_assert_eq!(months_apart, n as i32);
            let end_last = last_day_of_month(end.year(), end.month()).unwrap();
            prop_assert_eq!(end.day(), start.day().min(end_last));
            prop_assert!(end >= start);
        }

        #[test]
        fn adding_months_is_monotonic(a in 0i64..100_000, b in 0i64..100_000, n in 0u32..240) {
            let base = d("1990-01-01");
            let (x, y) = (base + chrono::Duration::days(a.min(b)), base + chrono::Duration::days(a.max(b)));
            prop_assert!(add_months(x, n).unwrap() <= add_months(y, n).unwrap());
        }
    }
}
