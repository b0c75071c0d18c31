//! Errors a user reads: a message naming the path, ref or session, and hints on what to do.
//!
//! Every failure reaches `main` as an [`anyhow::Error`] and is printed once, as
//! `error: <message>: <causes>` followed by one `hint: …` line per hint of every
//! [`UserError`] in its chain (see [`hints`]). Hints travel as data, never inside the text.

use std::error::Error as StdError;
use std::fmt;

/// A failure with a message of its own (lowercase, no trailing period), the hints that help
/// the user past it, and optionally the lower-level error that caused it.
#[derive(Debug)]
pub struct UserError {
    message: String,
    hints: Vec<String>,
    cause: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl UserError {
    pub fn new(message: impl Into<String>) -> UserError {
        UserError {
            message: message.into(),
            hints: Vec::new(),
            cause: None,
        }
    }

    /// Adds a hint line.
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> UserError {
        self.hints.push(hint.into());
        self
    }

    /// Records what caused this failure; it is printed after the message, as anyhow prints
    /// a context's source.
    #[must_use]
    pub fn because(mut self, cause: impl Into<Box<dyn StdError + Send + Sync + 'static>>) -> Self {
        self.cause = Some(cause.into());
        self
    }

    pub fn hints(&self) -> &[String] {
        &self.hints
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for UserError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.cause
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// A command's result that is no failure to report but must exit 1: `doctor` found
/// something that needs attention (its report is already printed), or `search` found
/// nothing (silent, as `git grep`). `main` prints nothing for it.
#[derive(Debug)]
pub struct NeedsAttention;

impl fmt::Display for NeedsAttention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("something needs attention")
    }
}

impl StdError for NeedsAttention {}

/// The one-line message of `err`: every context and cause, joined by `: `.
pub fn message(err: &anyhow::Error) -> String {
    format!("{err:#}").replace('\n', " ")
}

/// The hints of every [`UserError`] in the chain of `err`, outermost first.
pub fn hints(err: &anyhow::Error) -> Vec<&str> {
    err.chain()
        .filter_map(|e| e.downcast_ref::<UserError>())
        .flat_map(|e| e.hints.iter().map(String::as_str))
        .collect()
}

/// `err` as one line for a log: the message, then ` hint: …` for each hint.
pub fn one_line(err: &anyhow::Error) -> String {
    let mut line = message(err);
    for hint in hints(err) {
        line.push_str(" hint: ");
        line.push_str(hint);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn hints_survive_contexts_and_causes_print_after_the_message() {
        let io = std::io::Error::other("disk on fire");
        let err: anyhow::Result<()> = Err(UserError::new("cannot read x.zip")
            .hint("write it again")
            .because(io)
            .into());
        let err = err.context("failed to restore").unwrap_err();
        assert_eq!(
            message(&err),
            "failed to restore: cannot read x.zip: disk on fire"
        );
        assert_eq!(hints(&err), ["write it again"]);
        assert_eq!(
            one_line(&err),
            "failed to restore: cannot read x.zip: disk on fire hint: write it again"
        );
    }

    #[test]
    fn an_error_without_hints_has_none() {
        let err = anyhow::anyhow!("plain\nmultiline");
        assert_eq!(message(&err), "plain multiline");
        assert!(hints(&err).is_empty());
    }
}
