//! One cached response: what a hit answers with, how long it is good for,
//! and what it weighs against the stage's capacity.

use archway_proto::rules::stage_cache::MAX_ENTRY_BYTES;
use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};
use http_body_util::Full;
use std::time::{Duration, Instant};

/// What an entry costs beyond its bytes: the map slot, the `Arc`, the
/// header map's table and moka's bookkeeping (an upper estimate, so the
/// capacity bounds real memory rather than payload only).
const ENTRY_OVERHEAD: usize = 256;
/// Per header field beyond its name and value bytes.
const HEADER_OVERHEAD: usize = 32;

#[derive(Debug)]
pub struct CachedResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub expires_at: Instant,
    weight: u32,
}

impl CachedResponse {
    /// `None` when the entry (body, headers and key) is larger than AWS's
    /// per-response limit: such responses are passed on, not kept.
    pub fn new(
        key_len: usize,
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        expires_at: Instant,
    ) -> Option<Self> {
        let header_bytes: usize = headers
            .iter()
            .map(|(n, v)| n.as_str().len() + v.len() + HEADER_OVERHEAD)
            .sum();
        let weight = ENTRY_OVERHEAD + key_len + header_bytes + body.len();
        if body.len() > MAX_ENTRY_BYTES || weight > MAX_ENTRY_BYTES + MAX_ENTRY_BYTES / 2 {
            return None;
        }
        Some(Self {
            status,
            headers,
            body,
            expires_at,
            weight: weight as u32,
        })
    }

    /// What the entry counts against the stage's capacity, in bytes.
    pub fn weight(&self) -> u32 {
        self.weight
    }

    pub fn is_fresh(&self, now: Instant) -> bool {
        now < self.expires_at
    }

    /// The time left, for moka to reclaim the entry's memory once stale.
    pub fn time_to_live(&self, now: Instant) -> Duration {
        self.expires_at.saturating_duration_since(now)
    }

    /// The response a hit answers with: the body is shared, not copied.
    pub fn to_response(&self) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(self.body.clone()));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_at_their_ttl_and_weigh_what_they_hold() {
        let now = Instant::now();
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "text/plain".parse().unwrap());
        let entry = CachedResponse::new(
            10,
            StatusCode::OK,
            headers,
            Bytes::from_static(b"hello"),
            now + Duration::from_secs(5),
        )
        .unwrap();
        assert!(entry.is_fresh(now));
        assert!(entry.is_fresh(now + Duration::from_millis(4999)));
        assert!(!entry.is_fresh(now + Duration::from_secs(5)));
        assert_eq!(
            entry.time_to_live(now + Duration::from_secs(9)),
            Duration::ZERO
        );
        assert_eq!(
            entry.weight() as usize,
            ENTRY_OVERHEAD + 10 + ("content-type".len() + "text/plain".len() + HEADER_OVERHEAD) + 5
        );
        let response = entry.to_response();
        assert_eq!(response.headers()["content-type"], "text/plain");
    }

    #[test]
    fn bodies_over_the_per_response_limit_are_not_kept() {
        let now = Instant::now();
        let make = |len: usize| {
            CachedResponse::new(
                0,
                StatusCode::OK,
                HeaderMap::new(),
                vec![0; len].into(),
                now,
            )
        };
        assert!(make(MAX_ENTRY_BYTES).is_some());
        assert!(make(MAX_ENTRY_BYTES + 1).is_none());
    }
}
