//! Points in time as a user writes them on the command line (`--since`, `--until`): a date
//! (`2026-11-30`, `2026-11-30 14:05`, `2026-11-30T14:05:00Z`, all UTC) or an age back from
//! now (`3d`, `2 weeks ago`, `2.weeks.ago` as git writes it, `yesterday`, `now`).

use crate::error::UserError;
use anyhow::Result;

/// The instant `text` names, in ms since the epoch; `now_ms` is the present. `flag` names the
/// option in errors.
pub fn parse(text: &str, now_ms: i64, flag: &str) -> Result<i64> {
    let t = text.trim();
    date(t)
        .or_else(|| age(t).map(|ms| now_ms - ms))
        .ok_or_else(|| {
            UserError::new(format!("{flag} {text:?} is neither a date nor an age"))
                .hint("write a date as 2026-11-30 or 2026-11-30 14:05 (UTC), or an age as 3d, 12h or \"2 weeks ago\"")
                .into()
        })
}

/// Now, in ms since the epoch.
pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map_or(0, |d| d.as_millis() as i64)
}

/// `YYYY-MM-DD`, then optionally ` ` or `T`, `HH:MM`, `:SS` and `Z`; UTC.
fn date(t: &str) -> Option<i64> {
    let (day, clock) = match t.split_once([' ', 'T']) {
        Some((day, clock)) => (day, Some(clock.trim_end_matches('Z'))),
        None => (t, None),
    };
    let mut ymd = day.splitn(3, '-').map(|p| p.parse::<i32>().ok());
    let (y, m, d) = (ymd.next()??, ymd.next()??, ymd.next()??);
    let month = time::Month::try_from(u8::try_from(m).ok()?).ok()?;
    let date = time::Date::from_calendar_date(y, month, u8::try_from(d).ok()?).ok()?;
    let (h, min, s) = match clock {
        None => (0, 0, 0),
        Some(clock) => {
            let mut hms = clock.splitn(3, ':').map(|p| p.parse::<u8>().ok());
            let h = hms.next()??;
            let min = hms.next()??;
            let s = hms.next().unwrap_or(Some(0))?;
            (h, min, s)
        }
    };
    let time = time::Time::from_hms(h, min, s).ok()?;
    let at = time::PrimitiveDateTime::new(date, time).assume_utc();
    Some((at.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// An age in ms: `now`, `yesterday`, `<n><unit>`, `<n> <unit>[s] [ago]`, `<n>.<unit>[s].ago`.
fn age(t: &str) -> Option<i64> {
    match t {
        "now" => return Some(0),
        "yesterday" => return Some(DAY),
        _ => {}
    }
    let t = t.replace('.', " ");
    let t = t.trim().strip_suffix("ago").unwrap_or(&t).trim();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let n: i64 = t[..digits].parse().ok()?;
    let unit = t[digits..].trim();
    let unit = unit
        .strip_suffix('s')
        .filter(|u| u.len() > 1)
        .unwrap_or(unit);
    let ms = match unit {
        "s" | "sec" | "second" => 1000,
        "m" | "min" | "minute" => 60 * 1000,
        "h" | "hour" => 3600 * 1000,
        "d" | "day" => DAY,
        "w" | "week" => 7 * DAY,
        "month" => 30 * DAY,
        "y" | "year" => 365 * DAY,
        _ => return None,
    };
    n.checked_mul(ms)
}

const DAY: i64 = 24 * 3600 * 1000;

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_000_000_000;

    #[test]
    fn dates_and_ages_are_read() {
        let p = |t: &str| parse(t, NOW, "--since").unwrap();
        assert_eq!(p("2025-11-24"), 1_763_942_400_000);
        assert_eq!(p("2025-11-24 01:02"), 1_763_942_400_000 + 3_720_000);
        assert_eq!(p("2025-11-24T01:02:03Z"), 1_763_942_400_000 + 3_723_000);
        assert_eq!(p("3d"), NOW - 3 * DAY);
        assert_eq!(p("2 weeks ago"), NOW - 14 * DAY);
        assert_eq!(p("2.weeks.ago"), NOW - 14 * DAY);
        assert_eq!(p("12h"), NOW - 12 * 3600 * 1000);
        assert_eq!(p("1 month ago"), NOW - 30 * DAY);
        assert_eq!(p("yesterday"), NOW - DAY);
        assert_eq!(p("now"), NOW);
        for bad in ["", "soon", "3 parsecs", "2025-13-01", "2025-11-24 25:00"] {
            let err = parse(bad, NOW, "--since").unwrap_err();
            assert!(crate::error::message(&err).starts_with("--since"), "{bad}");
        }
    }
}
