//! `git opencode summary`: a pull request's Markdown summary of the sessions behind a range,
//! printed, or appended to the GitHub Actions job summary with `--github`.

use crate::cli::SummaryArgs;
use crate::config::Ctx;
use crate::error::UserError;
use crate::history::lookup::Sources;
use crate::history::summary;
use crate::redact::Redactor;
use anyhow::{bail, Context, Result};
use std::io::Write;

pub fn run(ctx: &Ctx, args: &SummaryArgs, out: &mut dyn Write) -> Result<()> {
    // Checked first: nothing is read when the summary has nowhere to go.
    let step_summary = match args.github {
        true => Some(step_summary_file()?),
        false => None,
    };
    let commits = ctx.repo.log_commits(&args.revisions, &[], None)?;
    let sources = Sources::open(ctx)?;
    let web = web_base(&sources.archive_ref);
    let text = summary::markdown(
        &sources,
        &args.revisions.join(" "),
        &commits,
        web.as_deref(),
        &Redactor::new(),
    )?;
    match step_summary {
        None => out.write_all(text.as_bytes())?,
        Some(path) => {
            // One append of the whole text: the job summary holds all of it or none.
            let mut file = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(&path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            file.write_all(text.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    Ok(())
}

/// `$GITHUB_STEP_SUMMARY`, which GitHub Actions sets for every step.
fn step_summary_file() -> Result<std::path::PathBuf> {
    match std::env::var_os("GITHUB_STEP_SUMMARY").filter(|v| !v.is_empty()) {
        Some(path) => Ok(path.into()),
        None => bail!(
            UserError::new("--github appends to $GITHUB_STEP_SUMMARY, which is not set")
                .hint("run it in a GitHub Actions step, or drop --github to print the summary")
        ),
    }
}

/// Where GitHub shows the archive branch's files, in GitHub Actions (`GITHUB_SERVER_URL`,
/// `GITHUB_REPOSITORY`); `None` elsewhere, or when the archive is no branch.
fn web_base(archive_ref: &str) -> Option<String> {
    let branch = archive_ref.strip_prefix("refs/heads/")?;
    let server = std::env::var("GITHUB_SERVER_URL").ok()?;
    let repository = std::env::var("GITHUB_REPOSITORY").ok()?;
    Some(format!(
        "{}/{repository}/blob/{branch}",
        server.trim_end_matches('/')
    ))
}
