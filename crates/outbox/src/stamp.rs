//! Instants as the database stores them: UTC text of fixed width
//! (`2025-03-01T09:30:00.000000000Z`), so that SQL comparisons and `ORDER BY` follow time
//! order whatever offset the caller used, and a person reading the file sees a date.

use std::path::Path;

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::error::{OutboxError, Result};

const FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z");

/// `t` as stored; `what` names it in the error when it falls outside years 0000..=9999 (UTC),
/// where the text would no longer sort in time order.
pub(crate) fn encode(what: &'static str, t: OffsetDateTime) -> Result<String> {
    let out_of_range = || OutboxError::TimeRange {
        what,
        value: t.to_string(),
    };
    let utc = t
        .checked_to_offset(UtcOffset::UTC)
        .ok_or_else(out_of_range)?;
    if !(0..=9999).contains(&utc.year()) {
        return Err(out_of_range());
    }
    utc.format(FORMAT).map_err(|_| out_of_range())
}

/// The instant stored as `text` in `db`, in UTC.
pub(crate) fn decode(db: &Path, text: &str) -> Result<OffsetDateTime> {
    PrimitiveDateTime::parse(text, FORMAT)
        .map(PrimitiveDateTime::assume_utc)
        .map_err(|e| OutboxError::Corrupt {
            db: db.to_owned(),
            why: format!("{text:?} is not a stored instant: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    /// Unix nanoseconds of 0000-01-01 and of the last instant of 9999, UTC.
    const MIN_NS: i128 = -62_167_219_200 * 1_000_000_000;
    const MAX_NS: i128 = 253_402_300_800 * 1_000_000_000 - 1;

    fn at(ns: i128, offset_s: i32) -> Option<OffsetDateTime> {
        let offset = UtcOffset::from_whole_seconds(offset_s).ok()?;
        OffsetDateTime::from_unix_timestamp_nanos(ns)
            .ok()?
            .checked_to_offset(offset)
    }

    proptest! {
        #[test]
        fn text_order_is_time_order_and_round_trips(
            a in MIN_NS..=MAX_NS, b in MIN_NS..=MAX_NS,
            oa in -86_399i32..=86_399, ob in -86_399i32..=86_399,
        ) {
            let (Some(ta), Some(tb)) = (at(a, oa), at(b, ob)) else {
                return Err(TestCaseError::reject("offset leaves the calendar's range"));
            };
            let (sa, sb) = (encode("a", ta).expect("in range"), encode("b", tb).expect("in range"));
            prop_assert_eq!(sa.cmp(&sb), ta.cmp(&tb));
            prop_assert_eq!(decode(Path::new("t.db"), &sa).expect("decodes"), ta);
        }
    }

    #[test]
    fn stores_utc_whatever_the_offset() {
        let paris = datetime!(2025-03-01 10:30:00.5 +01:00);
        assert_eq!(
            encode("now", paris).expect("in range"),
            "2025-03-01T09:30:00.500000000Z"
        );
    }

    #[test]
    fn refuses_years_that_would_not_sort() {
        let t = datetime!(9999-12-31 23:00 -02:00);
        let err = encode("expires_at", t).expect_err("after 9999 in UTC");
        assert!(err.to_string().contains("expires_at"), "{err}");
    }

    #[test]
    fn names_the_database_when_text_is_not_an_instant() {
        let err = decode(Path::new("/x/callrec.db"), "yesterday").expect_err("not an instant");
        assert!(err.to_string().contains("/x/callrec.db"), "{err}");
    }
}
