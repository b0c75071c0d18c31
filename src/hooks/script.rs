//! Our lines in a hook script: a marked block, added to an existing shell hook so that it is
//! kept, and removed so that `uninstall` gives it back byte for byte.

use super::Hook;
use crate::error::UserError;
use anyhow::{bail, Context, Result};
use std::path::Path;

pub const BEGIN: &str = "# >>> git-opencode >>>";
pub const END: &str = "# <<< git-opencode <<<";
/// Flags on the begin line: we created the file / we added a final newline to it.
const CREATED: &str = "created";
const NEWLINE: &str = "newline";
const SHEBANG: &str = "#!/bin/sh\n";

fn block(hook: Hook, notes: bool, flag: Option<&str>) -> String {
    let begin = match flag {
        Some(f) => format!("{BEGIN} {f}"),
        None => BEGIN.to_owned(),
    };
    if hook == Hook::PostRewrite {
        return rewrite_block(&begin, hook);
    }
    // The hook keeps the exit status it had before our lines: we never fail it, and never
    // hide a failure of the user's own lines above ours.
    format!(
        "{begin}\n# Added by `git opencode hook install`; `git opencode hook uninstall` removes it.\n\
         # It never fails the {name}; GIT_OPENCODE_SKIP=1 skips it once.\n\
         git_opencode_status=$?\n\
         if [ -z \"$GIT_OPENCODE_SKIP\" ] && command -v git-opencode >/dev/null 2>&1; then\n\
         \x20 {line} </dev/null >/dev/null 2>&1\n\
         fi\n\
         (exit $git_opencode_status)\n{END}\n",
        name = if hook == Hook::PostCommit { "commit" } else { "push" },
        line = hook.command_line(notes),
    )
}

/// The post-rewrite block. git gives the rewritten commits on stdin, which the user's own
/// lines read too: ours go first (see [`fresh_block`]), keep the input and give the same
/// input back to the lines below. GIT_OPENCODE_SKIP skips snapshots, never this copy, so a
/// note is never lost to it.
fn rewrite_block(begin: &str, hook: Hook) -> String {
    format!(
        "{begin}\n# Added by `git opencode hook install --notes`; `git opencode hook uninstall` removes it.\n\
         # It carries git-opencode's notes to the rewritten commits and never fails the rewrite;\n\
         # the lines below read the same input.\n\
         git_opencode_input=$(cat)\n\
         if command -v git-opencode >/dev/null 2>&1; then\n\
         \x20 printf '%s\\n' \"$git_opencode_input\" | {line} >/dev/null 2>&1\n\
         fi\n\
         exec <<git_opencode_input_end\n\
         $git_opencode_input\n\
         git_opencode_input_end\n\
         {END}\n",
        line = hook.command_line(true),
    )
}

/// `content` with our block as `install` wants it (added, or replaced when the one there
/// differs: other flags, an older version, or placed where it cannot run); `None` when the
/// block there is already exactly that.
pub fn with_block(content: Option<&str>, hook: Hook, notes: bool) -> Result<Option<String>> {
    // The hook as it was before any install of ours, so a replaced block is placed afresh.
    let original = match content {
        None => None,
        Some(text) => match without_block(text) {
            None => Some(text.to_owned()),
            Some(rest) => rest,
        },
    };
    let wanted = fresh_block(original.as_deref(), hook, notes)?;
    Ok((content != Some(wanted.as_str())).then_some(wanted))
}

/// `original` (the user's hook, `None` when there is none) with our block added where it runs.
fn fresh_block(original: Option<&str>, hook: Hook, notes: bool) -> Result<String> {
    let Some(text) = original else {
        return Ok(format!("{SHEBANG}{}", block(hook, notes, Some(CREATED))));
    };
    let first = text.lines().next().unwrap_or_default();
    let shell = ["sh", "bash", "dash", "zsh", "ksh"].iter().any(|s| {
        first.starts_with("#!")
            && (first.ends_with(&format!("/{s}")) || first.ends_with(&format!(" {s}")))
    });
    if !text.is_empty() && !shell {
        bail!("not a shell script (first line: {first})");
    }
    let content = match final_exit(text) {
        // The post-rewrite block reads the hook's input first (see `rewrite_block`): it goes
        // right after the first line.
        _ if hook == Hook::PostRewrite => match text.find('\n') {
            Some(at) => format!(
                "{}{}{}",
                &text[..=at],
                block(hook, notes, None),
                &text[at + 1..]
            ),
            None => format!("{text}\n{}", block(hook, notes, Some(NEWLINE))),
        },
        // A hook that ends with `exit …` or `exec …` never reaches lines added after it:
        // ours go just before that line, and keep the status the lines above leave for it.
        Some(at) => format!("{}{}{}", &text[..at], block(hook, notes, None), &text[at..]),
        None if text.is_empty() || text.ends_with('\n') => {
            format!("{text}{}", block(hook, notes, None))
        }
        None => format!("{text}\n{}", block(hook, notes, Some(NEWLINE))),
    };
    if let Some(blocker) = blocker(&content) {
        bail!(UserError::new(format!(
            "{blocker} ends it before git-opencode's lines could run"
        ))
        .hint(format!(
            "make that line the hook's last one, or add this line above it yourself: {}",
            hook.command_line(notes)
        )));
    }
    Ok(content)
}

/// A line of the hook that ends it unconditionally before our block: `line N (`exit 0`)`.
pub fn blocker(content: &str) -> Option<String> {
    let ours = content.find(BEGIN)?;
    content[..ours]
        .lines()
        .enumerate()
        .find(|(_, line)| ends_the_script(line))
        .map(|(i, line)| format!("line {} (`{}`)", i + 1, line.trim_end()))
}

/// Where the hook's last command starts, when that command is an `exit` or `exec` at the
/// top level (not indented, so not inside an `if`, a loop or a function).
fn final_exit(text: &str) -> Option<usize> {
    let mut start = 0;
    let mut last = None;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if !trimmed.is_empty() && !trimmed.starts_with('#') {
            last = Some((start, line));
        }
        start += line.len();
    }
    let (at, line) = last?;
    ends_the_script(line).then_some(at)
}

/// Whether `line` ends the script wherever control reaches it: an unindented `exit`, or an
/// unindented `exec` of a command (`exec >&2` and other redirections only do not end it).
fn ends_the_script(line: &str) -> bool {
    if line.starts_with(char::is_whitespace) {
        return false;
    }
    let line = line.split(" #").next().unwrap_or_default();
    let mut words = line
        .split(|c: char| c.is_whitespace() || c == ';')
        .filter(|w| !w.is_empty());
    match words.next() {
        Some("exit") => true,
        Some("exec") => {
            let is_redirection = |w: &str| {
                let w = w.trim_start_matches(|c: char| c.is_ascii_digit());
                w.starts_with(['<', '>', '&']) || w.starts_with('{')
            };
            let mut words = words.peekable();
            while let Some(word) = words.next() {
                if !is_redirection(word) {
                    return true;
                }
                // `> file`: the operator alone takes the next word as its target.
                if word.ends_with(['<', '>']) {
                    words.next();
                }
            }
            false
        }
        _ => false,
    }
}

/// What is left of `content` without our block: `Some(None)` when the file should go.
pub fn without_block(content: &str) -> Option<Option<String>> {
    let start = content.find(BEGIN)?;
    let end = content[start..].find(END).map(|i| start + i + END.len())?;
    let end = if content[end..].starts_with('\n') {
        end + 1
    } else {
        end
    };
    let begin_line = content[start..].lines().next().unwrap_or_default();
    let mut before = content[..start].to_owned();
    if begin_line.ends_with(NEWLINE) && before.ends_with('\n') {
        before.pop();
    }
    let rest = format!("{before}{}", &content[end..]);
    if begin_line.ends_with(CREATED) && (rest == SHEBANG || rest.trim().is_empty()) {
        return Some(None);
    }
    Some(Some(rest))
}

/// Writes a hook file atomically. An existing hook keeps its mode (a private 0700 hook stays
/// private); a new one is 0755, as git's own hooks are.
pub fn write_hook(path: &Path, content: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("failed to create {}", dir.display()))?;
    }
    let mut temp = crate::fsutil::temp_beside(path)?;
    std::io::Write::write_all(&mut temp, content.as_bytes())
        .with_context(|| format!("failed to write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o755);
        std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("failed to write {}", path.display()))?;
    }
    temp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("failed to write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_then_uninstall_restores_the_hook_byte_for_byte() {
        for original in [
            "#!/bin/sh\necho hi\n",
            "#!/bin/bash\necho no newline",
            "#!/usr/bin/env bash\n",
        ] {
            let installed = with_block(Some(original), Hook::PostCommit, false)
                .unwrap()
                .unwrap();
            assert!(installed.starts_with(original.trim_end_matches('\n')));
            assert_eq!(
                with_block(Some(&installed), Hook::PostCommit, false).unwrap(),
                None,
                "idempotent"
            );
            assert_eq!(without_block(&installed), Some(Some(original.to_owned())));
        }
        let created = with_block(None, Hook::PrePush, false).unwrap().unwrap();
        assert!(created.starts_with("#!/bin/sh\n") && created.contains("hook run pre-push \"$@\""));
        assert_eq!(without_block(&created), Some(None));
        assert_eq!(without_block("#!/bin/sh\n"), None);
        assert!(with_block(
            Some("#!/usr/bin/env python3\nprint(1)\n"),
            Hook::PostCommit,
            false
        )
        .is_err());
    }

    #[test]
    fn our_lines_go_before_a_final_exit_or_exec() {
        let hook = "#!/bin/sh\nexec 1>&2\necho checks\nexit 0\n\n# the end\n";
        let installed = with_block(Some(hook), Hook::PostCommit, false)
            .unwrap()
            .unwrap();
        let ours = installed.find(BEGIN).unwrap();
        assert_eq!(&installed[..ours], "#!/bin/sh\nexec 1>&2\necho checks\n");
        assert!(installed.ends_with(&format!("{END}\nexit 0\n\n# the end\n")));
        assert_eq!(
            blocker(&installed),
            None,
            "`exec 1>&2` does not end the hook"
        );
        assert_eq!(without_block(&installed), Some(Some(hook.to_owned())));

        let exec = "#!/bin/bash\nexec some-tool \"$@\"";
        let installed = with_block(Some(exec), Hook::PrePush, false)
            .unwrap()
            .unwrap();
        assert!(installed.ends_with(&format!("{END}\nexec some-tool \"$@\"")));
        assert_eq!(without_block(&installed), Some(Some(exec.to_owned())));

        // An exit that is not the last command: refused, nothing to place.
        let err = with_block(
            Some("#!/bin/sh\nexit 0\necho dead\n"),
            Hook::PostCommit,
            false,
        )
        .unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "line 2 (`exit 0`) ends it before git-opencode's lines could run"
        );
        // Indented exits are conditional; redirect-only execs go on.
        for fine in [
            "#!/bin/sh\nif true; then\n  exit 1\nfi\n",
            "#!/bin/sh\nexec > /tmp/log 2>&1\necho x\n",
            "#!/bin/sh\nexecute_me\nexit_code=1\n",
        ] {
            let installed = with_block(Some(fine), Hook::PostCommit, false)
                .unwrap()
                .unwrap();
            assert!(installed.starts_with(fine), "{fine}");
            assert_eq!(blocker(&installed), None, "{fine}");
        }
        // An old install appended after the exit is moved above it, and then stays.
        let old = format!(
            "#!/bin/sh\nexit 0\n{}",
            block(Hook::PostCommit, false, None)
        );
        assert_eq!(blocker(&old).as_deref(), Some("line 2 (`exit 0`)"));
        let moved = with_block(Some(&old), Hook::PostCommit, false)
            .unwrap()
            .unwrap();
        assert_eq!(blocker(&moved), None);
        assert_eq!(
            with_block(Some(&moved), Hook::PostCommit, false).unwrap(),
            None
        );
    }

    #[test]
    fn install_with_other_flags_replaces_our_block() {
        let plain = with_block(Some("#!/bin/sh\necho hi"), Hook::PostCommit, false)
            .unwrap()
            .unwrap();
        let notes = with_block(Some(&plain), Hook::PostCommit, true)
            .unwrap()
            .unwrap();
        assert!(notes.contains("hook run post-commit --notes"), "{notes}");
        assert_eq!(notes.matches(BEGIN).count(), 1);
        assert_eq!(
            without_block(&notes),
            Some(Some("#!/bin/sh\necho hi".to_owned()))
        );
        let created = with_block(None, Hook::PostCommit, false).unwrap().unwrap();
        let created_notes = with_block(Some(&created), Hook::PostCommit, true)
            .unwrap()
            .unwrap();
        assert_eq!(
            without_block(&created_notes),
            Some(None),
            "still ours to remove"
        );
    }

    #[test]
    fn the_post_rewrite_block_goes_first_and_comes_out_byte_for_byte() {
        for original in [
            "#!/bin/sh\nwhile read old new; do echo \"$old\"; done\nexit 0\n",
            "#!/bin/sh",
            "",
        ] {
            let installed = with_block(Some(original), Hook::PostRewrite, true)
                .unwrap()
                .unwrap();
            let first_line = original.lines().next().unwrap_or_default();
            assert!(
                installed.starts_with(&format!("{first_line}\n{BEGIN}")),
                "{installed}"
            );
            assert_eq!(blocker(&installed), None);
            assert_eq!(
                with_block(Some(&installed), Hook::PostRewrite, true).unwrap(),
                None,
                "idempotent"
            );
            assert_eq!(without_block(&installed), Some(Some(original.to_owned())));
        }
        let created = with_block(None, Hook::PostRewrite, true).unwrap().unwrap();
        assert!(
            created.contains("hook run post-rewrite \"$@\""),
            "{created}"
        );
        assert!(!created.contains("GIT_OPENCODE_SKIP\""), "never skipped");
        assert_eq!(without_block(&created), Some(None));
    }
}
