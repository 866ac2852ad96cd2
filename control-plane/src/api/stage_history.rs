//! What a stage served before: `Stage.previous_deployment_ids`, the list a
//! roll back takes its target from.
//!
//! Deployments belong to an API, not to a stage, so "the deployment made
//! before the current one" may be one that only another stage ever served:
//! prod serves d1, beta gets d2, prod gets d3; rolling prod back by creation
//! time would serve beta's untested d2. Each stage therefore keeps its own
//! history, and every write of a stage (CreateStage, UpdateStage,
//! CreateDeployment with a stage, PromoteCanary, FlushStageCache, the
//! declarative apply) passes the stored and the new stage through
//! [`finish`], the one place that sets what the control plane alone keeps
//! of a stage: this history and its creation and update times.
//!
//! The history is an undo stack. Moving to its first entry is a roll back
//! and takes that entry off (rolling back twice goes back two deployments,
//! d3 → d2 → d1, never toggling between the last two); any other move puts
//! the deployment served until then in front. Each deployment appears once,
//! the one served now never, and at most [`MAX_HISTORY`] are kept. A
//! deleted deployment leaves every history ([`forget`]), so the first entry
//! is always one that can be served.

use archway_proto::v1::Stage;

/// How many earlier deployments a stage remembers: enough to undo a bad
/// week of deploys, small enough that a stage record stays small.
pub(crate) const MAX_HISTORY: usize = 10;

/// Readies `next` to be written over `stored` (`None`: a new stage): the
/// fields no caller sets (UpdateStage's OutputOnly ones) come from the
/// stored stage and the write, never from the request. A new stage starts
/// at flush generation 0; an existing one keeps `next`'s (the stored one,
/// or FlushStageCache's raised one).
pub(crate) fn finish(stored: Option<&Stage>, next: &mut Stage, now_ms: i64) {
    next.created_at_ms = stored.map_or(now_ms, |s| s.created_at_ms);
    next.updated_at_ms = now_ms;
    if stored.is_none() {
        next.cache_flush_generation = 0;
    }
    carry(stored, next);
}

/// Sets `next.previous_deployment_ids` from the stage as stored (`None` for a
/// new stage, which has no history) and the move from its deployment to
/// `next`'s. Whatever the caller sent in `next`'s list is dropped: only the
/// control plane keeps it.
fn carry(stored: Option<&Stage>, next: &mut Stage) {
    let Some(stored) = stored else {
        next.previous_deployment_ids = Vec::new();
        return;
    };
    let mut history = stored.previous_deployment_ids.clone();
    if stored.deployment_id != next.deployment_id {
        moved(&mut history, &stored.deployment_id, &next.deployment_id);
    }
    next.previous_deployment_ids = history;
}

/// Updates `history` for a stage moving from deployment `from` to `to`.
fn moved(history: &mut Vec<String>, from: &str, to: &str) {
    if history.first().map(String::as_str) == Some(to) {
        // A roll back: what was undone is not kept (no redo).
        history.remove(0);
    } else if !from.is_empty() {
        history.retain(|id| id != from);
        history.insert(0, from.to_owned());
    }
    // The deployment served now is never a target, wherever it was.
    history.retain(|id| id != to);
    history.truncate(MAX_HISTORY);
}

/// Removes a deleted deployment from `stage`'s history; true when it was
/// there (the stage must then be written back).
pub(crate) fn forget(stage: &mut Stage, deployment_id: &str) -> bool {
    let before = stage.previous_deployment_ids.len();
    stage
        .previous_deployment_ids
        .retain(|id| id != deployment_id);
    stage.previous_deployment_ids.len() != before
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serving(deployment_id: &str, history: &[&str]) -> Stage {
        Stage {
            api_id: "pets".into(),
            stage_name: "prod".into(),
            deployment_id: deployment_id.into(),
            previous_deployment_ids: history.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    /// The stage after moving from `stored` to `to`.
    fn after(stored: &Stage, to: &str) -> Stage {
        let mut next = Stage {
            deployment_id: to.into(),
            ..stored.clone()
        };
        carry(Some(stored), &mut next);
        next
    }

    fn history(stage: &Stage) -> Vec<&str> {
        stage
            .previous_deployment_ids
            .iter()
            .map(String::as_str)
            .collect()
    }

    #[test]
    fn a_new_stage_starts_without_history_whatever_the_caller_sent() {
        let mut new = serving("d1", &["forged", "d0"]);
        carry(None, &mut new);
        assert!(new.previous_deployment_ids.is_empty());
    }

    #[test]
    fn a_new_deployment_pushes_the_one_served_until_then_in_front() {
        let stage = after(&serving("d1", &[]), "d2");
        assert_eq!(history(&stage), ["d1"]);
        let stage = after(&stage, "d3");
        assert_eq!(history(&stage), ["d2", "d1"]);
    }

    #[test]
    fn the_callers_list_is_ignored_on_update() {
        let stored = serving("d2", &["d1"]);
        let mut next = serving("d3", &["forged"]);
        carry(Some(&stored), &mut next);
        assert_eq!(history(&next), ["d2", "d1"]);
        // A change that leaves the deployment alone keeps the stored list.
        let mut same = serving("d2", &[]);
        carry(Some(&stored), &mut same);
        assert_eq!(history(&same), ["d1"]);
    }

    #[test]
    fn rolling_back_pops_so_twice_goes_back_twice_and_never_toggles() {
        let stage = after(&after(&serving("d1", &[]), "d2"), "d3");
        let back = after(&stage, "d2");
        assert_eq!(
            (back.deployment_id.as_str(), history(&back)),
            ("d2", vec!["d1"])
        );
        let back = after(&back, "d1");
        assert_eq!(
            (back.deployment_id.as_str(), history(&back)),
            ("d1", vec![])
        );
    }

    #[test]
    fn a_deployment_appears_once_and_never_while_served() {
        // d1 → d2 → d3, then to deployments picked by id that are in the
        // list but not first (not a roll back).
        let stage = after(&serving("d1", &["d0"]), "d2");
        assert_eq!(history(&stage), ["d1", "d0"]);
        let stage = after(&stage, "d3");
        assert_eq!(history(&stage), ["d2", "d1", "d0"]);
        // To d1, which is in the list but not first: d3 goes in front, d1
        // (served now) leaves the list.
        let stage = after(&stage, "d1");
        assert_eq!(history(&stage), ["d3", "d2", "d0"]);
        // Back to d2, which is in the list: it moves out, d1 goes in front once.
        let stage = after(&stage, "d2");
        assert_eq!(history(&stage), ["d1", "d3", "d0"]);
        let stage = after(&stage, "d0");
        assert_eq!(history(&stage), ["d2", "d1", "d3"]);
    }

    #[test]
    fn the_history_is_bounded_keeping_the_most_recent() {
        let mut stage = serving("d0", &[]);
        for i in 1..=MAX_HISTORY + 5 {
            stage = after(&stage, &format!("d{i}"));
        }
        assert_eq!(stage.previous_deployment_ids.len(), MAX_HISTORY);
        let expected: Vec<String> = (5..MAX_HISTORY + 5)
            .rev()
            .map(|i| format!("d{i}"))
            .collect();
        assert_eq!(stage.previous_deployment_ids, expected);
    }

    #[test]
    fn a_stage_that_served_nothing_pushes_nothing() {
        let stage = after(&serving("", &[]), "d1");
        assert!(stage.previous_deployment_ids.is_empty());
    }

    #[test]
    fn a_deleted_deployment_leaves_the_history_and_the_next_roll_back_skips_it() {
        let mut stage = after(&after(&serving("d1", &[]), "d2"), "d3");
        assert_eq!(history(&stage), ["d2", "d1"]);
        assert!(forget(&mut stage, "d2"));
        assert_eq!(history(&stage), ["d1"]);
        assert!(!forget(&mut stage, "d2"), "nothing left to remove");
        let back = after(&stage, "d1");
        assert_eq!(
            (back.deployment_id.as_str(), history(&back)),
            ("d1", vec![])
        );
    }
}
