//! JWKS documents of JWT issuers, fetched on first use and cached beside
//! the tables (a configuration swap keeps them). A cached set is used for
//! 10 minutes; a token whose `kid` the set lacks (the issuer rotated its
//! keys) triggers a refetch, at most once per 5 s per issuer, so random
//! kids cannot turn the gateway into a load generator against the issuer.

use crate::lock::LockOrRecover;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const FRESH_FOR: Duration = Duration::from_secs(600);
const REFETCH_AT_MOST_EVERY: Duration = Duration::from_secs(5);
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
    client: Client<crate::tls::Connector, Empty<Bytes>>,
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
        Self::new(&crate::tls::default_client_config())
    }
}

impl JwksCache {
    /// A cache whose fetches of `https://` key sets trust what `tls` trusts.
    pub fn new(tls: &Arc<rustls::ClientConfig>) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(FETCH_TIMEOUT));
        Self {
            client: Client::builder(TokioExecutor::new())
                .build(crate::tls::connector(connector, tls)),
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
        let uri: http::Uri = uri.parse()?;
        let response = tokio::time::timeout(FETCH_TIMEOUT, self.client.get(uri))
            .await
            .map_err(|_| anyhow::anyhow!("timed out"))??;
        anyhow::ensure!(
            response.status().is_success(),
            "status {}",
            response.status()
        );
        let body = tokio::time::timeout(
            FETCH_TIMEOUT,
            Limited::new(response.into_body(), MAX_JWKS_BYTES).collect(),
        )
        .await
        .map_err(|_| anyhow::anyhow!("timed out"))?
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .to_bytes();
        Ok(serde_json::from_slice(&body)?)
    }
}
