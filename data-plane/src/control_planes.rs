//! The control-plane addresses a node follows and which one it tries next.
//!
//! A node is given one or more replicas (`--control-plane A,B,C`). It starts
//! with the first, in the operator's order (list the nearest replica first:
//! a predictable choice, and any replica on one store serves the same
//! configuration), and stays with the one that works. When a stream ends —
//! its replica failed, was killed, shut down (`Distribution::close`), or
//! went silent — the node moves on to the next address at once rather than
//! waiting on the same one, wrapping around the list. The backoff grows per
//! round over the whole list, not per address: within a round each address
//! gets one quick attempt, so a dead first address delays the node by one
//! connect timeout, and a fleet whose every replica is down retries each no
//! faster than the capped backoff. With one address this is the backoff a
//! node always had: 100 ms doubling up to 5 s, reset by a stable session.

use std::time::Duration;

/// The first wait after a failure.
pub const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// A session that lived this long was healthy: the backoff starts over.
pub const STABLE_SESSION: Duration = Duration::from_secs(10);

/// The addresses, the one in use, and the failures since the last stable
/// session.
#[derive(Debug, Clone)]
pub struct ControlPlanes {
    addresses: Vec<String>,
    current: usize,
    /// Attempts in a row that ended before [`STABLE_SESSION`].
    failures: u32,
}

impl ControlPlanes {
    /// `addresses` in the order to try them: each an `http://` or
    /// `https://` URL, none empty or repeated, at least one.
    pub fn new<S: AsRef<str>>(addresses: &[S]) -> anyhow::Result<Self> {
        let mut list: Vec<String> = Vec::with_capacity(addresses.len());
        for address in addresses {
            let address = address.as_ref().trim();
            anyhow::ensure!(
                !address.is_empty(),
                "--control-plane: an empty address in the list (give URLs separated by commas)"
            );
            anyhow::ensure!(
                address.starts_with("http://") || address.starts_with("https://"),
                "--control-plane: '{address}' is not a URL: give http://HOST:PORT or https://HOST:PORT"
            );
            address.parse::<http::Uri>().map_err(|e| {
                anyhow::anyhow!("--control-plane: '{address}' is not a valid URL: {e}")
            })?;
            anyhow::ensure!(
                !list.iter().any(|a| a == address),
                "--control-plane: '{address}' is listed twice"
            );
            list.push(address.to_owned());
        }
        anyhow::ensure!(
            !list.is_empty(),
            "--control-plane: give at least one address"
        );
        Ok(Self {
            addresses: list,
            current: 0,
            failures: 0,
        })
    }

    /// Every address, in order.
    pub fn addresses(&self) -> &[String] {
        &self.addresses
    }

    /// The address to connect to now.
    pub fn current(&self) -> &str {
        &self.addresses[self.current]
    }

    /// Records that the attempt on [`Self::current`] ended after `lived`
    /// (from connecting to the end of its stream, or to the failure to open
    /// one) and moves to the next address. Returns how long to wait before
    /// connecting to it, without jitter.
    pub fn ended(&mut self, lived: Duration) -> Duration {
        if lived >= STABLE_SESSION {
            self.failures = 0;
        }
        self.failures = self.failures.saturating_add(1);
        self.current = (self.current + 1) % self.addresses.len();
        // Doubles once per round over the list: the first failure of a
        // round waits as long as the last one of the round before.
        let rounds = (self.failures - 1) / self.addresses.len() as u32;
        MIN_BACKOFF
            .saturating_mul(2u32.saturating_pow(rounds.min(16)))
            .min(MAX_BACKOFF)
    }
}

/// `wait` with ±20% jitter, so a fleet does not reconnect in lockstep.
pub fn jittered(wait: Duration) -> Duration {
    wait.mul_f64(fastrand::f64() * 0.4 + 0.8)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHORT: Duration = Duration::from_millis(50);

    fn waits(planes: &mut ControlPlanes, attempts: usize) -> Vec<(String, u128)> {
        (0..attempts)
            .map(|_| {
                let tried = planes.current().to_owned();
                (tried, planes.ended(SHORT).as_millis())
            })
            .collect()
    }

    #[test]
    fn one_address_backs_off_as_a_node_always_did() {
        let mut planes = ControlPlanes::new(&["http://a:7070"]).unwrap();
        let got: Vec<u128> = waits(&mut planes, 8).into_iter().map(|(_, w)| w).collect();
        assert_eq!(got, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        assert_eq!(planes.current(), "http://a:7070");
    }

    #[test]
    fn a_failed_address_hands_over_to_the_next_at_once_and_wraps_around() {
        let mut planes = ControlPlanes::new(&["http://a", "http://b", "http://c"]).unwrap();
        assert_eq!(planes.current(), "http://a");
        let got = waits(&mut planes, 7);
        let expected: Vec<(String, u128)> = [
            ("a", 100),
            ("b", 100),
            ("c", 100),
            ("a", 200),
            ("b", 200),
            ("c", 200),
            ("a", 400),
        ]
        .iter()
        .map(|(a, w)| (format!("http://{a}"), *w))
        .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn the_backoff_is_capped_however_long_every_address_fails() {
        let mut planes = ControlPlanes::new(&["http://a", "http://b"]).unwrap();
        let last = waits(&mut planes, 200).pop().unwrap().1;
        assert_eq!(last, MAX_BACKOFF.as_millis());
    }

    #[test]
    fn a_stable_session_starts_the_backoff_over_and_moves_on_from_its_replica() {
        let mut planes = ControlPlanes::new(&["http://a", "http://b"]).unwrap();
        waits(&mut planes, 6);
        assert_eq!(planes.current(), "http://a");
        // A stays up for a minute, then its stream ends (it shut down):
        // the node tries B next, after the shortest wait.
        assert_eq!(planes.ended(Duration::from_secs(60)), MIN_BACKOFF);
        assert_eq!(planes.current(), "http://b");
        // B does not answer either: back to A, still in the first round.
        assert_eq!(planes.ended(SHORT), MIN_BACKOFF);
        assert_eq!(planes.current(), "http://a");
        assert_eq!(planes.ended(SHORT), MIN_BACKOFF * 2);
    }

    #[test]
    fn a_session_that_ends_early_still_counts_as_a_failure() {
        // A replica that accepts the stream and closes it at once (one
        // shutting down) must not reset the backoff, or a node would spin.
        let mut planes = ControlPlanes::new(&["http://a"]).unwrap();
        assert_eq!(planes.ended(Duration::from_secs(1)), MIN_BACKOFF);
        assert_eq!(planes.ended(Duration::from_secs(1)), MIN_BACKOFF * 2);
    }

    #[test]
    fn addresses_are_checked_when_the_node_starts() {
        let list = ControlPlanes::new(&[" http://a:1 ", "https://b:2"]).unwrap();
        assert_eq!(list.addresses(), ["http://a:1", "https://b:2"]);
        for (bad, says) in [
            (vec!["http://a", ""], "an empty address"),
            (vec!["a:7070"], "is not a URL"),
            (vec!["http://a", "http://a"], "listed twice"),
            (vec!["http://a b"], "not a valid URL"),
        ] {
            let error = ControlPlanes::new(&bad).unwrap_err().to_string();
            assert!(error.contains(says), "{bad:?}: {error}");
        }
        let none: [&str; 0] = [];
        assert!(ControlPlanes::new(&none).is_err());
    }

    #[test]
    fn jitter_stays_within_a_fifth() {
        for _ in 0..1_000 {
            let wait = jittered(Duration::from_millis(1_000)).as_millis();
            assert!((800..=1_200).contains(&wait), "{wait}");
        }
    }
}
