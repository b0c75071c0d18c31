//! One module per subcommand.

pub mod export;
pub mod hook;
pub mod list;
pub mod pack;
pub mod push_sessions;
pub mod restore;
pub mod verify;

/// `2026-11-26 08:16` (UTC) for a Unix time in milliseconds.
pub fn format_time_ms(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    t.format(&format).unwrap_or_default()
}
