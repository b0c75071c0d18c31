//! Our lines in a hook script: a marked block, added to an existing shell hook so that it is
//! kept, and removed so that `uninstall` gives it back byte for byte.

use super::Hook;
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

/// `content` with our block added, or `None` when it is already there.
pub fn with_block(content: Option<&str>, hook: Hook, notes: bool) -> Result<Option<String>> {
    match content {
        None => Ok(Some(format!(
            "{SHEBANG}{}",
            block(hook, notes, Some(CREATED))
        ))),
        Some(text) if text.contains(BEGIN) => Ok(None),
        Some(text) => {
            let first = text.lines().next().unwrap_or_default();
            let shell = ["sh", "bash", "dash", "zsh", "ksh"].iter().any(|s| {
                first.starts_with("#!")
                    && (first.ends_with(&format!("/{s}")) || first.ends_with(&format!(" {s}")))
            });
            if !text.is_empty() && !shell {
                bail!("not a shell script (first line: {first})");
            }
            if text.is_empty() || text.ends_with('\n') {
                Ok(Some(format!("{text}{}", block(hook, notes, None))))
            } else {
                Ok(Some(format!(
                    "{text}\n{}",
                    block(hook, notes, Some(NEWLINE))
                )))
            }
        }
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

/// Writes a hook file atomically with mode 0755.
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
            .map(|m| m.permissions().mode() | 0o755)
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
}
