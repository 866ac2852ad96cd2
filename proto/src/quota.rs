//! Calendar rules for usage-plan quotas, shared by the control plane (usage
//! reports, GetUsage) and the data plane (counting): days since the Unix
//! epoch, UTC dates, and where a DAY, WEEK or MONTH period starts.

use crate::v1::QuotaPeriod;

/// Days since 1970-01-01 to (year, month 1-12, day 1-31), after Howard
/// Hinnant's public-domain `civil_from_days` algorithm.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// (year, month, day) to days since 1970-01-01; the inverse of
/// [`civil_from_days`].
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(86_400_000)
}

/// `YYYY-MM-DD`.
pub fn date_string(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Parses `YYYY-MM-DD` into days since the epoch.
pub fn parse_date(date: &str) -> Option<i64> {
    let mut parts = date.splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    if date.len() != 10 || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, m, d);
    (civil_from_days(days) == (y, m, d)).then_some(days)
}

/// The first day of the quota period that contains `day`. Weeks start on
/// Monday plus `offset` days; months on the 1st plus `offset` days.
pub fn period_start(day: i64, period: QuotaPeriod, offset: u32) -> i64 {
    let offset = i64::from(offset);
    match period {
        QuotaPeriod::Unspecified | QuotaPeriod::Day => day,
        QuotaPeriod::Week => {
            // 1970-01-01 was a Thursday: Monday-based weekday is (day + 3) % 7.
            let weekday = (day + 3).rem_euclid(7);
            let start = day - weekday + offset;
            if start > day { start - 7 } else { start }
        }
        QuotaPeriod::Month => {
            let (y, m, _) = civil_from_days(day);
            let start = days_from_civil(y, m, 1) + offset;
            if start > day {
                let (py, pm) = if m == 1 { (y - 1, 12) } else { (y, m - 1) };
                days_from_civil(py, pm, 1) + offset
            } else {
                start
            }
        }
    }
}

/// The first day of the next period after the one starting at `start`.
pub fn period_end(start: i64, period: QuotaPeriod, offset: u32) -> i64 {
    match period {
        QuotaPeriod::Unspecified | QuotaPeriod::Day => start + 1,
        QuotaPeriod::Week => start + 7,
        QuotaPeriod::Month => {
            let (y, m, _) = civil_from_days(start - i64::from(offset));
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            days_from_civil(ny, nm, 1) + i64::from(offset)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for days in [-1, 0, 10_957, 11_016, 20_784, 60_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
            assert_eq!(parse_date(&date_string(days)), Some(days));
        }
        assert_eq!(date_string(20_784), "2026-11-27");
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("2026-1-1"), None);
    }

    #[test]
    fn periods() {
        let fri = parse_date("2026-11-27").unwrap();
        let mon = parse_date("2026-11-23").unwrap();
        assert_eq!(period_start(fri, QuotaPeriod::Day, 0), fri);
        assert_eq!(period_start(fri, QuotaPeriod::Week, 0), mon);
        assert_eq!(period_end(mon, QuotaPeriod::Week, 0), mon + 7);
        // A week starting on Saturday (offset 5): Friday is its last day.
        assert_eq!(period_start(fri, QuotaPeriod::Week, 5), mon - 2);
        let first = parse_date("2026-11-01").unwrap();
        assert_eq!(period_start(fri, QuotaPeriod::Month, 0), first);
        assert_eq!(
            period_end(first, QuotaPeriod::Month, 0),
            parse_date("2026-12-01").unwrap()
        );
        // Months starting on the 28th (offset 27): the 27th belongs to last month's period.
        assert_eq!(
            period_start(fri, QuotaPeriod::Month, 27),
            parse_date("2026-10-28").unwrap()
        );
        assert_eq!(
            period_end(parse_date("2026-10-28").unwrap(), QuotaPeriod::Month, 27),
            parse_date("2026-11-28").unwrap()
        );
    }
}
