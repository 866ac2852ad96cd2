//! Confirmation before a destructive command (`delete api`, `apply --prune`).
//!
//! On a terminal the operator is asked; in a script (stdin not a terminal)
//! nothing is read and the command is refused unless `--yes` was given, so a
//! pipeline never deletes by accident and never hangs waiting for an answer.

use anyhow::bail;
use std::io::{BufRead, IsTerminal, Write};

/// Returns Ok when the operator agreed to `what` (e.g. "delete API 'pets'
/// with its 3 stages"): `assume_yes` (the `--yes` flag), or "y"/"yes" typed
/// on the terminal. Refuses with what to do otherwise.
pub fn confirm(what: &str, assume_yes: bool) -> anyhow::Result<()> {
    if assume_yes {
        return Ok(());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!("refusing to {what} without confirmation: pass --yes to confirm in a script");
    }
    let mut stderr = std::io::stderr();
    write!(stderr, "{what}? [y/N] ")?;
    stderr.flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    answer_is_yes(&answer)
        .then_some(())
        .ok_or_else(|| anyhow::anyhow!("not confirmed: nothing was changed"))
}

fn answer_is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_y_or_yes_confirms() {
        for yes in ["y\n", "Y", " yes \n", "YES"] {
            assert!(answer_is_yes(yes), "{yes:?}");
        }
        for no in ["", "\n", "n", "no", "yep", "y es"] {
            assert!(!answer_is_yes(no), "{no:?}");
        }
    }

    #[test]
    fn assume_yes_confirms_without_reading() {
        assert!(confirm("delete everything", true).is_ok());
    }
}
