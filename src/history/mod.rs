//! Reading the history the archive and the notes keep, from the store or from the archive
//! alone (a fresh clone). Nothing here writes.
//!
//! - [`lookup`]: a session found by ID; [`log`]: the commits of a range with their sessions;
//!   [`summary`]: a pull request's summary;
//! - [`corpus`]: every session once, newest first, with the copy to read;
//! - [`search`]: matching a pattern against them, with the filters; [`lines`]: which text of
//!   a session is searched; [`when`]: dates and ages on the command line.

mod archived;
pub mod corpus;
pub mod lines;
pub mod log;
pub mod lookup;
pub mod search;
pub mod summary;
pub mod when;

/// `1,234,567`.
pub fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n.max(0.0));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `$0.0123`: dollars to four places, as transcripts show them.
pub fn dollars(cost: f64) -> String {
    format!("${:.4}", cost + 0.0)
}

/// `45s`, `3m 05s`, `2h 07m`: how long a session ran, to the second.
pub fn duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_read_like_a_person_writes_them() {
        assert_eq!(super::thousands(0.0), "0");
        assert_eq!(super::thousands(999.0), "999");
        assert_eq!(super::thousands(1234567.0), "1,234,567");
        assert_eq!(super::dollars(0.0), "$0.0000");
        assert_eq!(super::dollars(1.23456), "$1.2346");
        assert_eq!(super::duration(999), "0s");
        assert_eq!(super::duration(185_000), "3m 05s");
        assert_eq!(super::duration(7_620_000), "2h 07m");
    }
}
