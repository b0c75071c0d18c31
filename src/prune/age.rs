//! `--older-than <AGE|DATE>`: the instant before which a session's last update must lie.
//!
//! An age counts back from now: days (`30d`) and weeks (`2w`) exactly, months (`6m`) and
//! years (`1y`) on the calendar (the same day of the month, or the month's last day when it
//! has fewer). A date is its UTC midnight (`2026-01-31`); RFC 3339 (`2026-01-31T12:00:00Z`,
//! any offset) is that instant.

use crate::error::UserError;
use anyhow::{bail, Result};
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, Month, OffsetDateTime, Time};

/// The cutoff `spec` names, relative to `now`, in Unix milliseconds.
pub fn cutoff(spec: &str, now: OffsetDateTime) -> Result<i64> {
    let at = parse(spec.trim(), now).ok_or_else(|| {
        UserError::new(format!(
            "--older-than {spec:?} is neither an age nor a date"
        ))
        .hint("give an age such as 30d, 2w, 6m or 1y, or a date such as 2026-01-31")
    })?;
    if at > now {
        bail!(
            UserError::new(format!("--older-than {spec} lies in the future"))
                .hint("give a past date, or an age such as 30d")
        );
    }
    Ok((at.unix_timestamp_nanos() / 1_000_000) as i64)
}

fn parse(spec: &str, now: OffsetDateTime) -> Option<OffsetDateTime> {
    if let Ok(at) = OffsetDateTime::parse(spec, &Rfc3339) {
        return Some(at);
    }
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(date) = Date::parse(spec, &date_format) {
        return Some(date.with_time(Time::MIDNIGHT).assume_utc());
    }
    let unit = spec.chars().last()?;
    let n: u32 = spec[..spec.len() - unit.len_utf8()].parse().ok()?;
    match unit {
        'd' => now.checked_sub(Duration::days(n.into())),
        'w' => now.checked_sub(Duration::weeks(n.into())),
        'm' => months_before(now, n),
        'y' => months_before(now, n.checked_mul(12)?),
        _ => None,
    }
}

/// `now` moved back `months` calendar months, the day clamped to the month's length.
fn months_before(now: OffsetDateTime, months: u32) -> Option<OffsetDateTime> {
    let index = i64::from(now.year()) * 12 + i64::from(now.month() as u8) - 1 - i64::from(months);
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
    let day = now.day().min(month.length(year));
    let date = Date::from_calendar_date(year, month, day).ok()?;
    Some(now.replace_date(date))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn at(spec: &str) -> Option<OffsetDateTime> {
        parse(spec, datetime!(2026-03-31 10:00 UTC))
    }

    #[test]
    fn ages_count_back_from_now() {
        assert_eq!(at("30d"), Some(datetime!(2026-03-01 10:00 UTC)));
        assert_eq!(at("2w"), Some(datetime!(2026-03-17 10:00 UTC)));
        // Calendar months: February has no 31st.
        assert_eq!(at("1m"), Some(datetime!(2026-02-28 10:00 UTC)));
        assert_eq!(at("6m"), Some(datetime!(2025-09-30 10:00 UTC)));
        assert_eq!(at("15m"), Some(datetime!(2024-12-31 10:00 UTC)));
        assert_eq!(at("1y"), Some(datetime!(2025-03-31 10:00 UTC)));
        assert_eq!(at("0d"), Some(datetime!(2026-03-31 10:00 UTC)));
    }

    #[test]
    fn dates_are_utc_midnight_and_rfc3339_is_exact() {
        assert_eq!(at("2026-01-31"), Some(datetime!(2026-01-31 0:00 UTC)));
        assert_eq!(
            at("2026-01-31T12:30:00+02:00"),
            Some(datetime!(2026-01-31 10:30 UTC))
        );
        assert_eq!(
            at("2026-01-31T12:30:00Z"),
            Some(datetime!(2026-01-31 12:30 UTC))
        );
    }

    #[test]
    fn other_spellings_and_future_dates_are_refused() {
        for bad in [
            "",
            "d",
            "30",
            "30x",
            "-3d",
            "3.5d",
            "2026-13-01",
            "yesterday",
            "30 d",
        ] {
            assert_eq!(at(bad), None, "{bad:?}");
        }
        let now = datetime!(2026-03-31 10:00 UTC);
        let err = cutoff("2027-01-01", now).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--older-than 2027-01-01 lies in the future"
        );
        assert_eq!(
            cutoff("2026-03-01", now).unwrap(),
            datetime!(2026-03-01 0:00 UTC).unix_timestamp() * 1000
        );
        let err = cutoff("soon", now).unwrap_err();
        assert!(err.to_string().contains("neither an age nor a date"));
    }
}
