//! When a recording expires (POLICY.md §8): `holding_months` calendar months after the call
//! started, the day clamped to the month's end (31 Jan + 1 month = 28/29 Feb).

use time::{Date, Month, OffsetDateTime};

use crate::settings::HoldingMonths;

/// The instant a recording of a call started at `started_at` expires. The calendar is the
/// one of `started_at`'s own UTC offset; the time of day is kept.
pub fn expires_at(started_at: OffsetDateTime, months: HoldingMonths) -> OffsetDateTime {
    let date = add_months(started_at.date(), months.get());
    started_at.replace_date(date)
}

/// `date` plus `months` calendar months, the day clamped to the target month's length.
pub fn add_months(date: Date, months: u8) -> Date {
    let index = i32::from(date.month() as u8 - 1) + i32::from(months);
    let year = date.year() + index.div_euclid(12);
    let month = Month::try_from((index.rem_euclid(12) + 1) as u8).unwrap_or(Month::December);
    let day = date.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).unwrap_or(Date::MAX)
}
