//! Paging long output the way git does: `GIT_PAGER`, else `core.pager`, else `PAGER`, else
//! `less`, run through the shell with `LESS=FRX` and `LV=-c` unless they are set; no pager
//! when standard output is not a terminal, or when the pager is empty or `cat`.

use anyhow::{Context, Result};
use std::io::{IsTerminal, Write};
use std::process::{Child, Command, Stdio};

/// The pager git would choose, from `GIT_PAGER`, `core.pager` and `PAGER` (in that order);
/// `None` when that is empty or `cat`, which git takes as "no pager".
pub fn choose(
    git_pager: Option<&str>,
    core_pager: Option<&str>,
    pager: Option<&str>,
) -> Option<String> {
    let chosen = git_pager.or(core_pager).or(pager).unwrap_or("less").trim();
    (!chosen.is_empty() && chosen != "cat").then(|| chosen.to_owned())
}

/// A running pager; the output goes to its standard input.
pub struct Pager {
    child: Child,
}

impl Pager {
    /// Starts the pager `core_pager` and the environment select (see [`choose`]), when
    /// standard output is a terminal; `None` otherwise.
    pub fn start(core_pager: Option<&str>) -> Result<Option<Pager>> {
        if !std::io::stdout().is_terminal() {
            return Ok(None);
        }
        let var = |name: &str| std::env::var(name).ok();
        let Some(command) = choose(
            var("GIT_PAGER").as_deref(),
            core_pager,
            var("PAGER").as_deref(),
        ) else {
            return Ok(None);
        };
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(&command).stdin(Stdio::piped());
        // As git: less quits on one screen, keeps colours and leaves the screen as it was.
        for (name, value) in [("LESS", "FRX"), ("LV", "-c")] {
            if std::env::var_os(name).is_none() {
                cmd.env(name, value);
            }
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start the pager '{command}'"))?;
        Ok(Some(Pager { child }))
    }

    /// Writes `text` to the pager and waits for the user to leave it. A pager quit early
    /// (a closed pipe) is no error.
    pub fn show(mut self, text: &[u8]) -> Result<()> {
        if let Some(mut stdin) = self.child.stdin.take() {
            match stdin.write_all(text) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other.context("failed to write to the pager")?,
            }
        }
        self.child.wait().context("failed to wait for the pager")?;
        Ok(())
    }
}

/// Whether to colour what goes to a terminal: not when `NO_COLOR` is set or git's
/// `color.ui` says never.
pub fn colour(color_ui: Option<&str>) -> bool {
    std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && !matches!(
            color_ui.map(str::to_ascii_lowercase).as_deref(),
            Some("never" | "false" | "no" | "off" | "0")
        )
}

#[cfg(test)]
mod tests {
    use super::choose;

    #[test]
    fn the_pager_is_chosen_as_git_chooses_it() {
        assert_eq!(choose(None, None, None).as_deref(), Some("less"));
        assert_eq!(choose(None, None, Some("more")).as_deref(), Some("more"));
        assert_eq!(
            choose(None, Some("most"), Some("more")).as_deref(),
            Some("most")
        );
        assert_eq!(
            choose(Some("delta"), Some("most"), Some("more")).as_deref(),
            Some("delta")
        );
        assert_eq!(choose(Some("cat"), Some("most"), None), None);
        assert_eq!(choose(Some(""), Some("most"), None), None);
        assert_eq!(choose(None, Some("  cat "), Some("more")), None);
    }
}
