//! Dates in configuration may be written as TOML dates (`2020-08-10`) or strings
//! (`"2020-08-10"`); chrono alone accepts only the string form.

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeSet;

#[derive(Deserialize)]
#[serde(untagged)]
enum Repr {
    Toml(toml::value::Datetime),
    Text(String),
}

fn convert<E: serde::de::Error>(r: Repr) -> Result<NaiveDate, E> {
    match r {
        Repr::Toml(dt) => {
            let d = dt
                .date
                .ok_or_else(|| E::custom(format!("`{dt}` is not a date")))?;
            NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
                .ok_or_else(|| E::custom(format!("`{dt}` is not a valid date")))
        }
        Repr::Text(s) => s
            .parse()
            .map_err(|_| E::custom(format!("`{s}` is not a date: write YYYY-MM-DD"))),
    }
}

/// For `Option<NaiveDate>` fields.
pub fn option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    Option::<Repr>::deserialize(d)?.map(convert).transpose()
}

/// For `BTreeSet<NaiveDate>` fields.
pub fn set<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeSet<NaiveDate>, D::Error> {
    Vec::<Repr>::deserialize(d)?
        .into_iter()
        .map(convert)
        .collect()
}
