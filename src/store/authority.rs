//! Which copy of a session counts when an upgraded `opencode.db` holds both generations
//! (opencode-2x.md §4.4). OpenCode 2.x imports the 1.x sessions once, then reads only
//! `session_v2`; 1.x goes on writing its own tables, and a 2.x delete leaves the 1.x rows
//! behind (#50260). So a 1.x row alone does not say whether the session is alive.

use super::gen2::{Migration, V2Listed};
use super::Session;
use std::collections::HashMap;

/// Why a 1.x session in an upgraded store is not listed as live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HiddenReason {
    /// Only in the 1.x tables and no newer than the completed import: 2.x imported it and
    /// it was deleted in 2.x since (a 2.x delete leaves the 1.x rows).
    DeletedIn2x,
    /// A 1.x copy newer than the session's 2.x copy, where 2.x has gone on with the session
    /// too: the two histories forked, and the 2.x one is what 2.x shows and the archive
    /// keeps. Reported (by `doctor`) so the 1.x continuation is not lost unnoticed.
    ContinuedInBoth,
}

impl HiddenReason {
    pub fn describe(self) -> &'static str {
        match self {
            HiddenReason::DeletedIn2x => {
                "1.x copy only, last changed before OpenCode 2.x imported the 1.x sessions: deleted in 2.x"
            }
            HiddenReason::ContinuedInBoth => {
                "1.x copy continued after the import, but OpenCode 2.x continued its own copy too: the 2.x copy is kept"
            }
        }
    }
}

/// A session left out of the live list, and why.
#[derive(Debug, Clone)]
pub struct Hidden {
    pub session: Session,
    pub reason: HiddenReason,
}

/// The live sessions of both generations, one per ID, and the 1.x ones left out.
///
/// - An ID in `session_v2` is read from there. Its 1.x copy is kept too (the session is
///   flagged `divergent`) when 1.x changed it after 2.x last did and the 2.x copy shows none
///   of 2.x's own activity: 1.x continued it after the import, and that continuation exists
///   only in the 1.x tables. When 2.x has activity of its own as well, the 1.x copy is
///   hidden as [`HiddenReason::ContinuedInBoth`].
/// - A 1.x-only ID is live 1.x work when the import has not completed, or when it changed
///   after the import completed; otherwise 2.x deleted it.
pub fn resolve(
    legacy: Vec<Session>,
    v2: Vec<V2Listed>,
    migration: Migration,
) -> (Vec<Session>, Vec<Hidden>) {
    let mut legacy: HashMap<String, Session> =
        legacy.into_iter().map(|s| (s.id.clone(), s)).collect();
    let mut live = Vec::with_capacity(v2.len() + legacy.len());
    let mut forked = Vec::new();
    for V2Listed {
        mut session,
        native_activity,
    } in v2
    {
        let mut hidden = None;
        if let Some(old) = legacy.remove(&session.id) {
            let newer = old.time_updated > session.time_updated;
            session.divergent = newer && !native_activity;
            if newer && native_activity {
                hidden = Some(Hidden {
                    session: old,
                    reason: HiddenReason::ContinuedInBoth,
                });
            }
        }
        live.push(session);
        forked.extend(hidden);
    }
    let mut hidden = forked;
    for (_, session) in legacy {
        match migration {
            Migration::Completed { at }
                if session.time_created <= at && session.time_updated <= at =>
            {
                hidden.push(Hidden {
                    session,
                    reason: HiddenReason::DeletedIn2x,
                })
            }
            _ => live.push(session),
        }
    }
    hidden.sort_by(|a, b| a.session.id.cmp(&b.session.id));
    (live, hidden)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Generation, SessionSummary, StoreKind};

    fn session(id: &str, generation: Generation, created: i64, updated: i64) -> Session {
        Session {
            id: id.into(),
            project_id: "p".into(),
            parent_id: None,
            title: id.into(),
            directory: "/r".into(),
            time_created: created,
            time_updated: updated,
            kind: StoreKind::Sqlite,
            generation,
            divergent: false,
            summary: SessionSummary::default(),
        }
    }

    fn v2(id: &str, updated: i64, native_activity: bool) -> V2Listed {
        V2Listed {
            session: session(id, Generation::V2, 1, updated),
            native_activity,
        }
    }

    fn ids(sessions: &[Session]) -> Vec<(String, Generation, bool)> {
        let mut out: Vec<_> = sessions
            .iter()
            .map(|s| (s.id.clone(), s.generation, s.divergent))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn each_case_of_the_rule() {
        let legacy = vec![
            session("same", Generation::V1, 1, 50),
            session("continued", Generation::V1, 1, 300),
            session("both", Generation::V1, 1, 300),
            session("deleted", Generation::V1, 1, 90),
            session("after", Generation::V1, 150, 160),
            session("touched", Generation::V1, 1, 120),
        ];
        let v2s = vec![
            v2("same", 50, false),
            v2("continued", 100, false),
            v2("both", 100, true),
            v2("native", 200, true),
        ];
        let (live, hidden) = resolve(legacy, v2s, Migration::Completed { at: 100 });
        use Generation::*;
        assert_eq!(
            ids(&live),
            vec![
                ("after".into(), V1, false),
                ("both".into(), V2, false),
                ("continued".into(), V2, true),
                ("native".into(), V2, false),
                ("same".into(), V2, false),
                ("touched".into(), V1, false),
            ]
        );
        let hidden: Vec<_> = hidden
            .iter()
            .map(|h| (h.session.id.as_str(), h.session.generation, h.reason))
            .collect();
        assert_eq!(
            hidden,
            vec![
                ("both", V1, HiddenReason::ContinuedInBoth),
                ("deleted", V1, HiddenReason::DeletedIn2x),
            ]
        );
    }

    #[test]
    fn an_unfinished_import_keeps_every_legacy_copy_live() {
        for migration in [Migration::NotStarted, Migration::InProgress] {
            let legacy = vec![session("old", Generation::V1, 1, 2)];
            let (live, hidden) = resolve(legacy, Vec::new(), migration);
            assert_eq!(live.len(), 1);
            assert!(hidden.is_empty());
        }
    }
}
