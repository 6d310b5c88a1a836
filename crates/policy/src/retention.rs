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

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use time::macros::{date, datetime};

    fn months(n: u64) -> HoldingMonths {
        HoldingMonths::new(n).expect("valid months")
    }

    #[rstest]
    #[case::clamped_to_february(date!(2027 - 01 - 31), 1, date!(2027 - 02 - 28))]
    #[case::leap_february(date!(2028 - 01 - 31), 1, date!(2028 - 02 - 29))]
    #[case::thirty_day_month(date!(2026 - 03 - 31), 1, date!(2026 - 04 - 30))]
    #[case::across_the_year(date!(2026 - 11 - 15), 3, date!(2027 - 02 - 15))]
    #[case::december_to_december(date!(2026 - 12 - 31), 12, date!(2027 - 12 - 31))]
    #[case::ten_years(date!(2026 - 02 - 28), 120, date!(2036 - 02 - 28))]
    #[case::leap_day_to_common_year(date!(2028 - 02 - 29), 12, date!(2029 - 02 - 28))]
    fn calendar_months(#[case] from: Date, #[case] n: u8, #[case] to: Date) {
        assert_eq!(add_months(from, n), to);
    }

    #[test]
    fn expiry_keeps_time_of_day_and_offset() {
        let started = datetime!(2027-01-31 23:30:05 +02:00);
        assert_eq!(
            expires_at(started, months(1)),
            datetime!(2027-02-28 23:30:05 +02:00)
        );
        assert_eq!(
            expires_at(datetime!(2026-11-29 08:00 UTC), HoldingMonths::DEFAULT),
            datetime!(2027-02-28 08:00 UTC)
        );
    }
}
