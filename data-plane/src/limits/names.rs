//! The names of token buckets and quota counters, kept as their parts.
//!
//! A name is written out as a string only for Redis keys and the saved
//! counters file; per-node limits key their maps by a hash of the same
//! bytes, streamed from the parts, so a local check allocates nothing.

use std::fmt;
use std::hash::{BuildHasher, Hasher};

/// Which token bucket a check draws from.
#[derive(Debug, Clone, Copy)]
pub enum BucketName<'a> {
    /// The node-wide default bucket.
    Node,
    /// A stage's (or its method's) throttle.
    Stage {
        api: &'a str,
        stage: &'a str,
        path: &'a str,
        method: &'a str,
    },
    /// A usage plan's throttle for one key.
    Plan { plan: &'a str, key: &'a str },
    /// A usage plan's method throttle for one key.
    PlanMethod {
        plan: &'a str,
        key: &'a str,
        path: &'a str,
        method: &'a str,
    },
}

impl fmt::Display for BucketName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BucketName::Node => f.write_str("node"),
            BucketName::Stage {
                api,
                stage,
                path,
                method,
            } => write!(f, "s:{api}:{stage}:{path}:{method}"),
            BucketName::Plan { plan, key } => write!(f, "p:{plan}:{key}"),
            BucketName::PlanMethod {
                plan,
                key,
                path,
                method,
            } => write!(f, "p:{plan}:{key}:{path}:{method}"),
        }
    }
}

/// One key's quota counter for one period: `{plan}:{key}:{start}:{reset}`,
/// the period's first day and the key's reset generation being part of the
/// name, so a new period or a reset starts a new counter.
#[derive(Debug, Clone, Copy)]
pub struct QuotaCounter<'a> {
    pub plan: &'a str,
    pub key: &'a str,
    /// The period's first day (days since the epoch).
    pub start: i64,
    pub reset: i64,
}

impl fmt::Display for QuotaCounter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}",
            self.plan, self.key, self.start, self.reset
        )
    }
}

impl BucketName<'_> {
    /// The bucket's map key. Buckets live only in memory, so the id need
    /// not match any written form: the parts are hashed directly (with a
    /// kind tag and separators, so different names cannot run together).
    pub fn id(&self) -> u64 {
        use std::sync::LazyLock;
        static STATE: LazyLock<foldhash::fast::RandomState> = LazyLock::new(Default::default);
        let mut h = STATE.build_hasher();
        let mut part = |tag: u8, text: &str| {
            h.write_u8(tag);
            h.write(text.as_bytes());
        };
        match self {
            BucketName::Node => part(0, ""),
            BucketName::Stage {
                api,
                stage,
                path,
                method,
            } => {
                part(1, api);
                part(0xff, stage);
                part(0xff, path);
                part(0xff, method);
            }
            BucketName::Plan { plan, key } => {
                part(2, plan);
                part(0xff, key);
            }
            BucketName::PlanMethod {
                plan,
                key,
                path,
                method,
            } => {
                part(3, plan);
                part(0xff, key);
                part(0xff, path);
                part(0xff, method);
            }
        }
        h.finish()
    }
}

/// The map key of a quota counter: a hash of its written form, computed
/// without writing it anywhere. `id_of_str` gives the same value for the
/// written name, as read back from the counters file.
pub fn id_of(name: impl fmt::Display) -> u64 {
    struct Feed(std::collections::hash_map::DefaultHasher);
    impl fmt::Write for Feed {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            self.0.write(s.as_bytes());
            Ok(())
        }
    }
    let mut feed = Feed(hasher());
    let _ = fmt::write(&mut feed, format_args!("{name}"));
    feed.0.finish()
}

/// [`id_of`] for a name already written out (restored counters).
pub fn id_of_str(name: &str) -> u64 {
    let mut hasher = hasher();
    hasher.write(name.as_bytes());
    hasher.finish()
}

/// Fixed keys: ids must agree across calls (and they are never exposed).
fn hasher() -> std::collections::hash_map::DefaultHasher {
    std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
        .build_hasher()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_parts_match_ids_from_written_names() {
        let names = [
            BucketName::Node,
            BucketName::Stage {
                api: "a1",
                stage: "prod",
                path: "/pets/{id}",
                method: "GET",
            },
            BucketName::Plan {
                plan: "gold",
                key: "k1",
            },
            BucketName::PlanMethod {
                plan: "gold",
                key: "k1",
                path: "/pets",
                method: "POST",
            },
        ];
        let ids: std::collections::HashSet<u64> = names.iter().map(BucketName::id).collect();
        assert_eq!(ids.len(), names.len());
        for name in names {
            assert_eq!(id_of(name), id_of_str(&name.to_string()), "{name}");
            assert_eq!(name.id(), name.id());
        }
        let counter = QuotaCounter {
            plan: "gold",
            key: "k1",
            start: 20_000,
            reset: 2,
        };
        assert_eq!(counter.to_string(), "gold:k1:20000:2");
        assert_eq!(id_of(counter), id_of_str("gold:k1:20000:2"));
        assert_ne!(
            id_of(BucketName::Plan {
                plan: "a",
                key: "b:c"
            }),
            id_of(BucketName::Plan {
                plan: "a",
                key: "b:d"
            })
        );
    }
}
