//! Making output deterministic: [`normalize_paths`] for the temp dirs of a test run.

use regex::Regex;
use std::borrow::Cow;
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
