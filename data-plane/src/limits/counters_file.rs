//! Local quota counters on disk, so a node without Redis keeps counting
//! after a restart. One `counter<TAB>count` line each, written as a new file
//! and renamed over the old one. Counter ids carry their period's first day
//! (`{plan}:{key}:{day}:{reset}`), so counters of periods long over are
//! dropped on load.

use std::path::{Path, PathBuf};

const FILE_NAME: &str = "quota-counters.tsv";
/// Longer than the longest period (a month).
const KEEP_DAYS: i64 = 35;

pub fn path(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

pub fn save(dir: &Path, counters: &[(String, u64)]) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("{FILE_NAME}.tmp"));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
    for (counter, count) in counters {
        writeln!(file, "{counter}\t{count}")?;
    }
    file.into_inner()?.sync_all()?;
    std::fs::rename(&tmp, path(dir))
}

/// Saved counters still in a current period (`today` in days since the epoch).
pub fn load(dir: &Path, today: i64) -> Vec<(String, u64)> {
    let Ok(text) = std::fs::read_to_string(path(dir)) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| {
            let (counter, count) = line.split_once('\t')?;
            let day: i64 = counter.split(':').nth(2)?.parse().ok()?;
            (today - day <= KEEP_DAYS).then(|| Some((counter.to_owned(), count.parse().ok()?)))?
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_drops_old_periods() {
        let dir = tempfile::tempdir().unwrap();
        let counters = vec![
            ("plan:key:20784:0".to_string(), 17),
            ("plan:key:20000:0".to_string(), 5),
        ];
        save(dir.path(), &counters).unwrap();
        assert_eq!(
            load(dir.path(), 20_785),
            vec![("plan:key:20784:0".to_string(), 17)]
        );
        assert!(load(&dir.path().join("missing"), 0).is_empty());
    }
}
