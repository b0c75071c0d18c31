//! Which sessions a prune takes, as families: a parent goes with all its subagent children
//! or not at all (a parent without its children loses the transcripts its `task` parts
//! point to; children without their parent are sessions OpenCode never lists). Pure: the
//! verdict on each session comes from the comparison with the archive.

use crate::error::UserError;
use anyhow::{bail, Result};
use std::collections::{BTreeMap, BTreeSet};

/// Which sessions of this repository the user asks to prune.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Whole families whose every session was last updated before this (Unix ms).
    OlderThan(i64),
    /// These sessions and their subagent sessions.
    Sessions(Vec<String>),
    All,
}

/// One session of this repository, as selection sees it.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: String,
    pub parent_id: Option<String>,
    pub updated: i64,
}

/// The sessions `selection` takes, grouped into families (sorted, each sorted): the units
/// that are pruned or kept whole.
pub fn families(members: &[Candidate], selection: &Selection) -> Result<Vec<Vec<String>>> {
    let by_id: BTreeMap<&str, &Candidate> = members.iter().map(|c| (c.id.as_str(), c)).collect();
    // A session's parent, when the parent is a session of this repository.
    let parent = |id: &str| -> Option<&str> {
        by_id[id]
            .parent_id
            .as_deref()
            .filter(|p| by_id.contains_key(p))
    };
    let taken: BTreeSet<&str> = match selection {
        Selection::All | Selection::OlderThan(_) => by_id.keys().copied().collect(),
        Selection::Sessions(ids) => {
            let mut named = BTreeSet::new();
            for id in ids {
                let Some((id, _)) = by_id.get_key_value(id.as_str()) else {
                    bail!(UserError::new(format!(
                        "session {id} is not a session of this repository"
                    ))
                    .hint("`git opencode list` shows this repository's sessions"));
                };
                named.insert(*id);
            }
            // And every descendant.
            loop {
                let before = named.len();
                for c in members {
                    if parent(&c.id).is_some_and(|p| named.contains(p)) {
                        named.insert(c.id.as_str());
                    }
                }
                if named.len() == before {
                    break named;
                }
            }
        }
    };
    // Families: each taken session under its topmost taken ancestor.
    let mut groups: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for id in &taken {
        let mut top = *id;
        while let Some(p) = parent(top).filter(|p| taken.contains(p)) {
            top = p;
        }
        groups.entry(top).or_default().push((*id).to_owned());
    }
    if let Selection::OlderThan(cutoff) = selection {
        groups.retain(|_, family| family.iter().all(|id| by_id[id.as_str()].updated < *cutoff));
    }
    Ok(groups.into_values().collect())
}

/// Splits `families` into the sessions to prune and those kept with their reason: a
/// family is pruned only when `verdict` finds nothing against any of its sessions; the
/// others of a kept family stay with `with_family(<the session that keeps it>)`.
pub fn judge<R>(
    families: Vec<Vec<String>>,
    verdict: impl Fn(&str) -> Option<R>,
    with_family: impl Fn(&str) -> R,
) -> (Vec<String>, Vec<(String, R)>) {
    let mut prune = Vec::new();
    let mut kept = Vec::new();
    for family in families {
        let verdicts: Vec<Option<R>> = family.iter().map(|id| verdict(id)).collect();
        let Some(first) = family
            .iter()
            .zip(&verdicts)
            .find_map(|(id, v)| v.as_ref().map(|_| id.clone()))
        else {
            prune.extend(family);
            continue;
        };
        for (id, v) in family.into_iter().zip(verdicts) {
            let reason = v.unwrap_or_else(|| with_family(&first));
            kept.push((id, reason));
        }
    }
    prune.sort();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    (prune, kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: &str, parent: Option<&str>, updated: i64) -> Candidate {
        Candidate {
            id: id.into(),
            parent_id: parent.map(Into::into),
            updated,
        }
    }

    fn tree() -> Vec<Candidate> {
        vec![
            c("a", None, 10),
            c("a1", Some("a"), 12),
            c("a11", Some("a1"), 30),
            c("b", None, 5),
            // A child whose parent is not a session of this repository stands alone.
            c("o", Some("elsewhere"), 1),
        ]
    }

    fn ids(families: &[Vec<String>]) -> Vec<Vec<&str>> {
        families
            .iter()
            .map(|f| f.iter().map(String::as_str).collect())
            .collect()
    }

    #[test]
    fn families_go_whole() {
        let all = families(&tree(), &Selection::All).unwrap();
        assert_eq!(ids(&all), [vec!["a", "a1", "a11"], vec!["b"], vec!["o"]]);
        // a's grandchild was updated at 30: the family is too recent for a cutoff of 20.
        let old = families(&tree(), &Selection::OlderThan(20)).unwrap();
        assert_eq!(ids(&old), [vec!["b"], vec!["o"]]);
        let old = families(&tree(), &Selection::OlderThan(31)).unwrap();
        assert_eq!(old.len(), 3);
        // A named child takes its own children, not its parent.
        let named = families(&tree(), &Selection::Sessions(vec!["a1".into()])).unwrap();
        assert_eq!(ids(&named), [vec!["a1", "a11"]]);
        let err = families(&tree(), &Selection::Sessions(vec!["zz".into()])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "session zz is not a session of this repository"
        );
    }

    #[test]
    fn one_kept_session_keeps_its_family() {
        let all = families(&tree(), &Selection::All).unwrap();
        let (prune, kept) = judge(
            all,
            |id| (id == "a11").then(|| "changed".to_owned()),
            |by| format!("with {by}"),
        );
        assert_eq!(prune, ["b", "o"]);
        assert_eq!(
            kept,
            [
                ("a".to_owned(), "with a11".to_owned()),
                ("a1".to_owned(), "with a11".to_owned()),
                ("a11".to_owned(), "changed".to_owned()),
            ]
        );
    }
}
