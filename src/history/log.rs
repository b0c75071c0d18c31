//! `log`'s model: each commit of a range with the sessions git-opencode's notes link to it,
//! and what each session did (agent, model, tokens, cost, duration), read from the store or
//! the archive. A commit without a note says so; nothing is guessed from times or files.

use super::lookup::{Origin, Sources};
use crate::git::LogCommit;
use crate::transcript::Tokens;
use anyhow::Result;
use std::collections::HashMap;

/// One commit and its sessions.
#[derive(Debug, Clone)]
pub struct Entry {
    pub commit: LogCommit,
    /// Whether a note of ours is on the commit.
    pub noted: bool,
    pub sessions: Vec<Linked>,
}

/// A session a note links to a commit.
#[derive(Debug, Clone)]
pub struct Linked {
    pub id: String,
    /// The session's title; the note's when the session is nowhere to be read.
    pub title: String,
    /// Where it was read from; `None` when neither the store nor an archive holds it.
    pub origin: Option<Origin>,
    pub agents: Vec<String>,
    pub models: Vec<String>,
    pub tokens: Option<Tokens>,
    pub cost: Option<f64>,
    pub duration_ms: Option<i64>,
}

/// The entries of `commits` (in their order), each session read once however many commits
/// it is linked to.
pub fn entries(sources: &Sources, commits: Vec<LogCommit>) -> Result<Vec<Entry>> {
    let mut seen: HashMap<String, Linked> = HashMap::new();
    let mut out = Vec::with_capacity(commits.len());
    for commit in commits {
        let noted = sources.noted(commit.id)?;
        let mut sessions = Vec::new();
        for n in noted.iter().flatten() {
            if let Some(linked) = seen.get(&n.id) {
                sessions.push(linked.clone());
                continue;
            }
            let linked = match sources.find(&n.id)? {
                Some(found) => {
                    let facts = found.facts();
                    Linked {
                        id: n.id.clone(),
                        title: found.title().to_owned(),
                        origin: Some(found.origin),
                        agents: facts.agents,
                        models: facts.models,
                        tokens: facts.tokens,
                        cost: facts.cost,
                        duration_ms: facts.duration_ms,
                    }
                }
                None => Linked {
                    id: n.id.clone(),
                    title: n.title.clone(),
                    origin: None,
                    agents: Vec::new(),
                    models: Vec::new(),
                    tokens: None,
                    cost: None,
                    duration_ms: None,
                },
            };
            seen.insert(n.id.clone(), linked.clone());
            sessions.push(linked);
        }
        out.push(Entry {
            commit,
            noted: noted.is_some(),
            sessions,
        });
    }
    Ok(out)
}
