//! JWKS documents of JWT issuers, fetched on first use and cached beside
//! the tables (a configuration swap keeps them). A cached set is used for
//! 10 minutes; a token whose `kid` the set lacks (the issuer rotated its
//! keys) triggers a refetch, at most once per 5 s per issuer, so random
//! kids cannot turn the gateway into a load generator against the issuer.
//! Fetches go through the node's outbound client ([`Upstream`]), recorded
//! under the purpose `jwks`.

use crate::lock::LockOrRecover;
use crate::upstream::{BufferedLimits, BufferedRequest, Purpose, Upstream, error_chain};
use bytes::Bytes;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const FRESH_FOR: Duration = Duration::from_secs(600);
const REFETCH_AT_MOST_EVERY: Duration = Duration::from_secs(5);
/// For the whole fetch: connecting, asking, and reading the key set.
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// A JWK ready to verify with: parsing a key (an RSA modulus, say) once
/// per fetch instead of once per request.
pub struct VerifyingKey {
    pub jwk: Jwk,
    pub key: DecodingKey,
}

type KeySet = HashMap<String, Arc<VerifyingKey>>;

fn prepare(set: JwkSet) -> KeySet {
    set.keys
        .into_iter()
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            let key = DecodingKey::from_jwk(&jwk).ok()?;
            Some((kid, Arc::new(VerifyingKey { jwk, key })))
        })
        .collect()
}

#[derive(Default)]
struct Entry {
    keys: Option<Arc<KeySet>>,
    fetched_at: Option<Instant>,
    last_attempt: Option<Instant>,
}

pub struct JwksCache {
    client: Upstream,
    /// One async lock per issuer: concurrent misses wait for one fetch.
    entries: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Entry>>>>,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache").finish_non_exhaustive()
    }
}

impl Default for JwksCache {
    fn default() -> Self {
        Self::new(Upstream::default().for_purpose(Purpose::Jwks))
    }
}

impl JwksCache {
    /// A cache fetching key sets through `client` (for `https://` ones,
    /// trusting what it trusts).
    pub fn new(client: Upstream) -> Self {
        Self {
            client,
            entries: Mutex::default(),
        }
    }

    /// The key `kid` of the issuer publishing at `uri`, if it has one.
    pub async fn key(&self, uri: &str, kid: &str) -> Option<Arc<VerifyingKey>> {
        let entry = self
            .entries
            .lock_or_recover()
            .entry(uri.to_owned())
            .or_default()
            .clone();
        let mut entry = entry.lock().await;
        let now = Instant::now();
        let fresh = entry.fetched_at.is_some_and(|at| now - at < FRESH_FOR);
        if fresh && let Some(key) = entry.keys.as_ref().and_then(|k| k.get(kid)) {
            return Some(key.clone());
        }
        let may_fetch = entry
            .last_attempt
            .is_none_or(|at| now - at >= REFETCH_AT_MOST_EVERY || !fresh);
        if may_fetch {
            entry.last_attempt = Some(now);
            match self.fetch(uri).await {
                Ok(keys) => {
                    entry.keys = Some(Arc::new(prepare(keys)));
                    entry.fetched_at = Some(now);
                }
                // `{:#}`: the whole chain, down to e.g. the certificate error.
                Err(e) => tracing::warn!(uri, error = format!("{e:#}"), "fetching JWKS failed"),
            }
        }
        entry.keys.as_ref().and_then(|k| k.get(kid)).cloned()
    }

    /// Puts a key set in the cache as if just fetched (benchmarks, tests).
    pub fn prime(&self, uri: &str, keys: JwkSet) {
        let entry = Arc::new(tokio::sync::Mutex::new(Entry {
            keys: Some(Arc::new(prepare(keys))),
            fetched_at: Some(Instant::now()),
            last_attempt: Some(Instant::now()),
        }));
        self.entries.lock_or_recover().insert(uri.to_owned(), entry);
    }

    async fn fetch(&self, uri: &str) -> anyhow::Result<JwkSet> {
        let request = BufferedRequest {
            method: http::Method::GET,
            uri,
            headers: http::HeaderMap::new(),
            body: Bytes::new(),
        };
        let limits = BufferedLimits {
            timeout: FETCH_TIMEOUT,
            max_response_bytes: MAX_JWKS_BYTES,
        };
        let response = self
            .client
            .send_buffered(request, limits)
            .await
            .map_err(|e| anyhow::anyhow!(error_chain(&e)))?;
        anyhow::ensure!(
            response.status().is_success(),
            "status {}",
            response.status()
        );
        Ok(serde_json::from_slice(response.body())?)
    }
}
