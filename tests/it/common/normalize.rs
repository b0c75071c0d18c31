//! Making output deterministic: [`normalize_paths`] for the temp dirs of a test run, and
//! [`Scrub`] for what differs between two generations of a fixture (session IDs, times,
//! durations), so that snapshots are the same run after run.

use super::fixtures::Fixture;
use regex::{Captures, Regex};
use std::borrow::Cow;
use std::fmt::Display;
use std::path::PathBuf;
use std::sync::OnceLock;

/// `dir` canonicalized (as the test dirs are), as a regex matching it literally.
fn escaped(dir: PathBuf) -> String {
    let dir = dir.canonicalize().unwrap_or(dir);
    regex::escape(dir.to_str().expect("UTF-8 temp dir"))
}

/// The temp dirs of a test run and their placeholders.
fn path_patterns() -> &'static [(Regex, &'static str)] {
    static PATTERNS: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let tmp = escaped(std::env::temp_dir());
        let target_tmp = escaped(PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
        [
            // TestEnv::new and Fixture::copy_env: `git-opencode-` and 6 random characters.
            (format!("{tmp}/git-opencode-[A-Za-z0-9]{{6}}"), "$$TEST_ENV"),
            // OpencodeHome::new.
            (format!("{tmp}/oc-home-[A-Za-z0-9]{{6}}"), "$$OC_HOME"),
            // fixtures::fixture_dir: `<pid>-<name>`.
            (
                format!("{target_tmp}/opencode-fixtures/[0-9]+-([a-z0-9]+)"),
                "$$FIXTURES/$1",
            ),
            // tempfile::tempdir().
            (format!("{tmp}/\\.tmp[A-Za-z0-9]{{6}}"), "$$TMP"),
        ]
        .into_iter()
        .map(|(re, to)| (Regex::new(&re).unwrap(), to))
        .collect()
    })
}

/// `text` with the temp dirs of the test run as placeholders: a [`TestEnv`] root is
/// `$TEST_ENV`, an [`OpencodeHome::new`] root `$OC_HOME`, the dir of fixture `rich`
/// `$FIXTURES/rich`, any other `tempfile::tempdir()` `$TMP`.
///
/// [`TestEnv`]: super::TestEnv
/// [`OpencodeHome::new`]: super::opencode::OpencodeHome::new
pub fn normalize_paths(text: &str) -> String {
    let mut text = text.to_owned();
    for (re, to) in path_patterns() {
        if let Cow::Owned(replaced) = re.replace_all(&text, *to) {
            text = replaced;
        }
    }
    text
}

/// What changes from one generation of a fixture to the next, and its placeholder.
fn scrub_patterns() -> &'static [(Regex, &'static str)] {
    static PATTERNS: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        [
            // OpenCode IDs: a prefix, 12 hex digits of time, 14 random characters.
            (r"\bses_[0-9a-f]{12}[0-9A-Za-z]{14}\b", "[SESSION_ID]"),
            (r"\bmsg_[0-9a-f]{12}[0-9A-Za-z]{14}\b", "[MESSAGE_ID]"),
            (r"\bprt_[0-9a-f]{12}[0-9A-Za-z]{14}\b", "[PART_ID]"),
            (r"\btool_[0-9a-f]{12}[0-9A-Za-z]{14}\b", "[TOOL_OUTPUT_ID]"),
            // `2026-11-24 12:34:56 UTC`, `2026-11-24 12:34`, RFC 3339.
            (
                r"\b\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?( UTC|Z|[+-]\d{2}:\d{2})?",
                "[TIME]",
            ),
            // `20261202T000708Z` (backup file names).
            (r"\b\d{8}T\d{6}Z\b", "[TIME]"),
            // Unix times in milliseconds (2001 to 2286).
            (r"\b1\d{12}\b", "[TIME_MS]"),
            // How long something took: `85 ms`, `1.5 s`, `"ms":397` (hook runs).
            (r"\b\d+(\.\d+)? (ms|s)\b", "[DURATION]"),
            (r#""ms":\d+"#, r#""ms":[DURATION]"#),
            // How much of a long tool output a transcript leaves out: its length counts the
            // characters of the fixture's path, whose process ID varies in length.
            (
                r"\d[\d,]* of \d[\d,]* characters not shown",
                "[COUNT] of [COUNT] characters not shown",
            ),
            // Short IDs of commits whose content holds the above (archive and notes commits).
            (r"\b[0-9a-f]{12}\b", "[COMMIT]"),
        ]
        .into_iter()
        .map(|(re, to)| (Regex::new(re).unwrap(), to))
        .collect()
    })
}

/// The fixtures' long tool output (`line 0001 ünïcødé 日本語 output ….`) after its first
/// shown line. A transcript cuts such an output at a character budget, and what comes before
/// it holds the fixture's path (OpenCode's "Full output saved to: …"), whose length depends
/// on where the checkout lives and on the test's process ID: how many of the last lines fit
/// varies from one machine to the next.
fn long_output_tail() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let line = r"line \d{4} ünïcødé 日本語 output \.+\n";
        Regex::new(&format!(r"(?m)(?P<first>^{line})(?:{line})+")).unwrap()
    })
}

/// Placeholders for what differs between two generations of a fixture: named session IDs
/// (`[SESSION:tools]`), any other OpenCode ID (`[SESSION_ID]`, `[MESSAGE_ID]`…), times
/// (`[TIME]`, `[TIME_MS]`), durations (`[DURATION]`), the short IDs of the commits that
/// hold sessions (`[COMMIT]`) and the cut tail of the fixtures' long tool output, on top of
/// [`normalize_paths`]. Full commit IDs (40 hex digits, such as project IDs) are kept: fixed
/// dates make them stable.
///
/// [`aligned`](Self::aligned) pads each placeholder to the width of what it replaces, so
/// that the columns of a table stay aligned.
#[derive(Clone, Default)]
pub struct Scrub {
    literals: Vec<(String, String)>,
    aligned: bool,
}

impl Scrub {
    /// No named sessions (yet).
    pub fn new() -> Scrub {
        Scrub::default()
    }

    /// Names every session of `fixture` by its label, as `[SESSION:<label>]`.
    pub fn of(fixture: &dyn Fixture) -> Scrub {
        fixture
            .labels()
            .into_iter()
            .fold(Scrub::new(), |scrub, (label, id)| scrub.session(id, label))
    }

    /// Shows session `id` as `[SESSION:<label>]`.
    pub fn session(mut self, id: &str, label: &str) -> Scrub {
        self.literals
            .push((id.to_owned(), format!("[SESSION:{label}]")));
        self
    }

    /// Shows `literal` as `placeholder`.
    pub fn literal(mut self, literal: &str, placeholder: &str) -> Scrub {
        self.literals
            .push((literal.to_owned(), placeholder.to_owned()));
        self
    }

    /// Pads every placeholder with spaces to the width of what it replaces (and trims the
    /// ends of lines), for tables.
    pub fn aligned(mut self) -> Scrub {
        self.aligned = true;
        self
    }

    /// `text` (a [`CommandOutput`](super::output::CommandOutput), a `String`…) scrubbed.
    pub fn apply(&self, text: impl Display) -> String {
        let mut text = normalize_paths(&text.to_string());
        let pad = |to: &str, from: &str| -> String {
            let width = from.chars().count();
            if self.aligned && to.chars().count() < width {
                format!("{to:<width$}")
            } else {
                to.to_owned()
            }
        };
        let mut literals: Vec<&(String, String)> = self.literals.iter().collect();
        literals.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
        for (from, to) in literals {
            text = text.replace(from.as_str(), &pad(to, from));
        }
        for (re, to) in scrub_patterns() {
            text = re
                .replace_all(&text, |c: &Captures| pad(to, &c[0]))
                .into_owned();
        }
        text = long_output_tail()
            .replace_all(&text, "${first}[… more lines of this output]\n")
            .into_owned();
        if self.aligned {
            let ends_with_newline = text.ends_with('\n');
            text = text
                .lines()
                .map(str::trim_end)
                .collect::<Vec<_>>()
                .join("\n");
            if ends_with_newline {
                text.push('\n');
            }
        }
        text
    }
}
