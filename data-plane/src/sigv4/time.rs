//! The little calendar arithmetic SigV4 needs, without a date crate: the
//! request time arrives as ISO 8601 "basic format" (`20150830T123600Z`) or,
//! in the `Date` header, as an HTTP IMF-fixdate, and error messages quote
//! times back in basic format. Everything is UTC seconds since the epoch.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// Years before the epoch are refused so every timestamp converts to a
/// `SystemTime` without a fallible subtraction; a signature that old fails
/// the clock checks anyway.
const MIN_YEAR: u32 = 1970;

/// Parses `YYYYMMDDTHHMMSSZ`, checking every field's range, so that a
/// valid result formats back to exactly the same 16 characters.
pub(super) fn parse_basic(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[4..6])?;
    let day = digits(&b[6..8])?;
    let hour = digits(&b[9..11])?;
    let minute = digits(&b[11..13])?;
    let second = digits(&b[13..15])?;
    to_unix(year, month, day, hour, minute, second)
}

/// Parses an HTTP IMF-fixdate (`Sun, 30 Aug 2015 12:36:00 GMT`), the form
/// clients put in `Date` when they sign with it instead of `X-Amz-Date`.
/// The weekday is not cross-checked: it carries no information.
pub(super) fn parse_http_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 29
        || &b[3..5] != b", "
        || b[7] != b' '
        || b[11] != b' '
        || b[16] != b' '
        || b[19] != b':'
        || b[22] != b':'
        || &b[25..] != b" GMT"
    {
        return None;
    }
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let month = MONTHS.iter().position(|m| m[..] == b[8..11])? as u32 + 1;
    let day = digits(&b[5..7])?;
    let year = digits(&b[12..16])?;
    let hour = digits(&b[17..19])?;
    let minute = digits(&b[20..22])?;
    let second = digits(&b[23..25])?;
    to_unix(year, month, day, hour, minute, second)
}

/// Whole seconds since the epoch; sub-second precision plays no part in a
/// protocol whose timestamps have one-second resolution.
pub(super) fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// The instant for a timestamp produced by this module (never negative).
pub(super) fn system_time(unix: i64) -> SystemTime {
    UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(unix).unwrap_or(0))
}

/// Displays seconds since the epoch as `YYYYMMDDTHHMMSSZ`.
#[derive(Clone, Copy)]
pub(super) struct Basic(pub i64);

impl fmt::Display for Basic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

fn to_unix(year: u32, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> Option<i64> {
    if year < MIN_YEAR
        || !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    Some(days * 86_400 + i64::from(hour * 3600 + minute * 60 + second))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date, counting years from
/// March so the leap day falls at the end (the usual era/day-of-era method).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_format_round_trips() {
        for s in [
            "19700101T000000Z",
            "20150830T123600Z",
            "20000229T235959Z",
            "21000301T000000Z",
            "99991231T235959Z",
        ] {
            let t = parse_basic(s).expect(s);
            assert_eq!(Basic(t).to_string(), s);
        }
        assert_eq!(parse_basic("20150830T123600Z"), Some(1_440_938_160));
    }

    #[test]
    fn basic_format_rejects_out_of_range_and_other_shapes() {
        for s in [
            "",
            "2015-08-30T12:36:00Z",
            "20150830T123600",
            "20150830t123600Z",
            "20150830T126000Z",
            "20150830T240000Z",
            "20150230T000000Z",
            "21000229T000000Z",
            "20151301T000000Z",
            "20150800T000000Z",
            "19691231T235959Z",
            "2015083OT123600Z",
            "+0150830T123600Z",
        ] {
            assert_eq!(parse_basic(s), None, "{s}");
        }
    }

    #[test]
    fn http_date_parses() {
        assert_eq!(
            parse_http_date("Sun, 30 Aug 2015 12:36:00 GMT"),
            parse_basic("20150830T123600Z")
        );
        assert_eq!(parse_http_date("Sun, 30 Aug 2015 12:36:00 UTC"), None);
        assert_eq!(parse_http_date("Sun, 30 Foo 2015 12:36:00 GMT"), None);
        assert_eq!(parse_http_date("Sunday, 30-Aug-15 12:36:00 GMT"), None);
    }

    #[test]
    fn unix_seconds_floors_and_handles_pre_epoch() {
        let t = UNIX_EPOCH + std::time::Duration::from_millis(1_999);
        assert_eq!(unix_seconds(t), 1);
        let before = UNIX_EPOCH - std::time::Duration::from_secs(5);
        assert_eq!(unix_seconds(before), -5);
        assert_eq!(unix_seconds(system_time(42)), 42);
    }
}
