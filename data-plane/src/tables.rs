//! The runtime tables a node serves from: immutable once built, swapped in
//! whole with `ArcSwap`, so a request loads them once and sees one consistent
//! version from start to end.

pub mod cors;
pub mod gateway_responses;
pub mod validation;
pub mod websocket;

use crate::access_log::StageAccessLog;
use crate::routes::RouteTree;
use crate::stage_cache::config::StageCacheConfig;
use crate::stage_cache::key::KeyParam;
use archway_proto::uri_template::UriTemplate;
use archway_proto::v1::ApiProtocol;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use opentelemetry::KeyValue;
use std::collections::HashMap;

/// Maps looked up on every request by names from configuration (API ids,
/// stage names): a fast seeded hash instead of SipHash. Clients choose
/// what is looked up, never what is stored, so collisions cannot be forced.
pub type ConfigMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
use std::sync::Arc;
use std::time::Duration;

/// The served tables, swapped whole by the config path; requests `load`
/// them once each.
pub type SharedTables = Arc<arc_swap::ArcSwap<RuntimeTables>>;

#[derive(Debug, Default)]
pub struct RuntimeTables {
    /// The configuration version these tables serve: the one they were
    /// compiled from, or the name a restarted control plane gave the same
    /// content (a relabel, see `ConfigUpdate.same_content`). Read it with
    /// [`RuntimeTables::version`].
    pub version: std::sync::atomic::AtomicU64,
    /// By API id.
    pub apis: ConfigMap<Box<str>, ApiTable>,
    /// By resource name, so the next compilation can reuse them.
    pub deployments: HashMap<Box<str>, Arc<CompiledDeployment>>,
    /// API keys by the HMAC of their value; shared with the next version
    /// when no key changed.
    pub keys: Arc<KeyTable>,
    /// Usage plans by id.
    pub plans: ConfigMap<Box<str>, Arc<CompiledPlan>>,
    /// HMAC-SHA256 keyed with the secret key values are hashed with, ready
    /// to clone per request (the key schedule is done once per version).
    pub api_key_mac: Option<hmac::Hmac<sha2::Sha256>>,
    /// plan → key → last quota reset (ms since the epoch); nested so a
    /// request looks it up by its ids without building a key string.
    pub quota_resets: ConfigMap<Box<str>, ConfigMap<Box<str>, i64>>,
    /// The fleet's region and account, for method ARNs and SigV4 scopes.
    pub region: Box<str>,
    pub account_id: Box<str>,
    /// IAM access keys, for methods with authorization AWS_IAM.
    pub iam: Arc<IamTable>,
    /// The credentials function and service integrations sign with.
    pub outbound: Arc<crate::aws::credentials::OutboundCredentials>,
    /// Some route has a REQUEST authorizer, whose event carries the
    /// client's header-name case: new HTTP/1 connections keep it.
    pub request_authorizers: bool,
}

/// IAM access keys by id, each with what its signed requests may do.
#[derive(Debug, Default)]
pub struct IamTable {
    pub keys: HashMap<Box<str>, IamKey>,
}

#[derive(Debug)]
pub struct IamKey {
    /// The access key id the key is found by (`$context.identity.accessKey`,
    /// the function event's `accessKey`): kept so nobody reads it back out
    /// of the `Authorization` header.
    pub access_key_id: Box<str>,
    pub secret: Box<str>,
    pub enabled: bool,
    /// `arn:aws:iam::…:user/alice` or `arn:aws:sts::…:assumed-role/role/session`.
    pub principal_arn: Box<str>,
    /// The ARN as the integration receives it, made once per version.
    pub principal: Arc<crate::principal::Principal>,
    /// `aws:username`: users only.
    pub username: Option<Box<str>>,
    /// Temporary credentials: SHA-256 of the session token and the expiry
    /// (ms since the epoch).
    pub session: Option<([u8; 32], i64)>,
    /// The identity policies of the user or role.
    pub policies: Arc<[archway_proto::policy::Policy]>,
    /// The last SigV4 signing key derived from the secret, with the
    /// credential scope it is for: one HMAC chain per key and day instead
    /// of one per request.
    pub signing_key: arc_swap::ArcSwapOption<SigningKey>,
}

impl IamKey {
    /// The account of the key's principal: the fifth field of its ARN.
    pub fn account_id(&self) -> &str {
        self.principal_arn.split(':').nth(4).unwrap_or("")
    }
}

/// A derived SigV4 signing key and its scope.
#[derive(Debug)]
pub struct SigningKey {
    /// `YYYYMMDD/region/service`.
    pub scope: Box<str>,
    pub key: [u8; 32],
}

pub type KeyHash = [u8; 32];

/// API keys by the HMAC of their value. Persistent maps: a new version
/// shares all unchanged entries with the previous one, so one key more costs
/// O(log n), not a copy of a million keys.
#[derive(Debug, Default, Clone)]
pub struct KeyTable {
    /// The hashes are HMACs no client can choose: a fast hash is safe.
    pub by_hash: imbl::GenericHashMap<
        KeyHash,
        Arc<KeyEntry>,
        foldhash::fast::RandomState,
        imbl::shared_ptr::DefaultSharedPtr,
    >,
    /// Key id → the hash it is filed under, to apply removals and changes.
    hash_of: imbl::HashMap<Arc<str>, KeyHash>,
}

impl KeyTable {
    pub fn upsert(&mut self, key: &archway_proto::v1::ApiKey) -> Result<(), String> {
        let hash: KeyHash = key
            .value_hash
            .as_slice()
            .try_into()
            .map_err(|_| format!("key {}: value hash is not 32 bytes", key.id))?;
        let id: Arc<str> = key.id.as_str().into();
        if let Some(old) = self.hash_of.insert(id.clone(), hash)
            && old != hash
        {
            self.by_hash.remove(&old);
        }
        self.by_hash.insert(
            hash,
            Arc::new(KeyEntry {
                id,
                enabled: key.enabled,
                plans: key
                    .usage_plan_ids
                    .iter()
                    .map(|p| p.as_str().into())
                    .collect(),
            }),
        );
        Ok(())
    }

    pub fn remove(&mut self, id: &str) {
        if let Some(hash) = self.hash_of.remove(id) {
            self.by_hash.remove(&hash);
        }
    }

    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }
}

#[derive(Debug)]
pub struct KeyEntry {
    pub id: Arc<str>,
    pub enabled: bool,
    pub plans: Vec<Arc<str>>,
}

/// How a method checks its callers.
#[derive(Debug)]
pub enum RouteAuth {
    Jwt(JwtAuth),
    Custom(CustomAuth),
    /// SigV4 by an IAM principal whose policies allow the method.
    Iam,
}

/// A method's JWT authorizer, compiled.
#[derive(Debug)]
pub struct JwtAuth {
    /// Identifies the authorizer's settings in the verified-token cache, so
    /// a token checked for one issuer/audience is never reused for another.
    pub fingerprint: [u8; 32],
    pub header: http::HeaderName,
    pub issuer: String,
    pub audiences: Vec<String>,
    pub jwks_uri: String,
    pub algorithms: Vec<jsonwebtoken::Algorithm>,
    pub leeway_seconds: u64,
    /// One of these must be granted; empty: any valid token.
    pub scopes: Vec<String>,
}

/// A TOKEN or REQUEST authorizer, compiled.
#[derive(Debug)]
pub struct CustomAuth {
    /// The authorizer's id, for logs.
    pub id: Box<str>,
    /// Identifies the authorizer's settings in the answer cache: answers
    /// are never shared between authorizers.
    pub fingerprint: [u8; 32],
    pub identity: CustomIdentity,
    pub uri: http::Uri,
    /// Zero: every request calls the authorizer.
    pub ttl: Duration,
    pub timeout: Duration,
}

#[derive(Debug)]
pub enum CustomIdentity {
    /// TOKEN: the header's value, optionally matched in full by a regex.
    Token {
        header: http::HeaderName,
        validation: Option<regex::Regex>,
    },
    /// REQUEST: every listed source must be present; their values together
    /// are the cache key.
    Request(Vec<archway_proto::identity_source::IdentitySource>),
}

/// A token bucket (requests per second, burst).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttle {
    pub rate: f64,
    pub burst: u32,
}

/// Throttles by resource path and verb, with "*" for any.
#[derive(Debug, Default)]
pub struct MethodThrottles {
    /// path → verb → throttle; "*" entries match anything.
    by_path: ConfigMap<Box<str>, ConfigMap<Box<str>, Throttle>>,
}

impl MethodThrottles {
    pub fn insert(&mut self, path: &str, verb: &str, throttle: Throttle) {
        self.by_path
            .entry(path.into())
            .or_default()
            .insert(verb.into(), throttle);
    }

    /// The most specific throttle for `path` and `verb`: path and verb, then
    /// path and any verb, then any path and verb, then any path, any verb.
    pub fn find(&self, path: &str, verb: &str) -> Option<Throttle> {
        [(path, verb), (path, "*"), ("*", verb), ("*", "*")]
            .into_iter()
            .find_map(|(p, v)| self.by_path.get(p)?.get(v).copied())
    }

    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }
}

#[derive(Debug)]
pub struct CompiledPlan {
    pub id: Arc<str>,
    pub throttle: Option<Throttle>,
    pub quota: Option<Quota>,
    /// api id → stage → the plan's method throttles there.
    pub stages: ConfigMap<Box<str>, ConfigMap<Box<str>, MethodThrottles>>,
}

#[derive(Debug, Clone, Copy)]
pub struct Quota {
    pub limit: u64,
    pub period: archway_proto::v1::QuotaPeriod,
    pub offset: u32,
}

impl RuntimeTables {
    pub fn version(&self) -> u64 {
        self.version.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Names these tables as `version` (the content is unchanged).
    pub fn relabel(&self, version: u64) {
        self.version
            .store(version, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn empty() -> Self {
        Self::default()
    }

    /// Every stage that caches: (API id, stage name, settings).
    pub fn stage_caches(&self) -> impl Iterator<Item = (&str, &str, &StageCacheConfig)> {
        self.apis.values().flat_map(|api| {
            api.stages
                .values()
                .filter_map(move |s| Some((&*api.id, &*s.name, s.cache.as_ref()?)))
        })
    }
}

#[derive(Debug)]
pub struct ApiTable {
    pub id: Box<str>,
    /// The API's resource policy, evaluated on every request.
    pub resource_policy: Option<archway_proto::policy::Policy>,
    /// PRIVATE endpoint: served only to private connections.
    pub private: bool,
    pub api_key_source: archway_proto::v1::ApiKeySource,
    /// The `api` metric label, built once per version.
    pub label: KeyValue,
    pub protocol: ApiProtocol,
    /// By stage name.
    pub stages: ConfigMap<Box<str>, StageTable>,
}

#[derive(Debug)]
pub struct StageTable {
    pub name: Box<str>,
    /// The `stage` metric label.
    pub label: KeyValue,
    pub primary: StageTarget,
    pub canary: Option<Canary>,
    pub access_log: Option<StageAccessLog>,
    /// The stage's own throttles (stage-wide "*" and per method).
    pub throttles: MethodThrottles,
    /// The stage cache's settings, when the stage caches; the entries live
    /// in [`crate::stage_cache::StageCaches`], beside these tables.
    pub cache: Option<StageCacheConfig>,
}

#[derive(Debug)]
pub struct Canary {
    /// 0.0 to 100.0.
    pub percent: f64,
    pub target: StageTarget,
}

/// A deployment as one stage serves it: with that stage's variables.
#[derive(Debug)]
pub struct StageTarget {
    pub deployment: Arc<CompiledDeployment>,
    pub variables: HashMap<Box<str>, Box<str>>,
}

#[derive(Debug)]
pub struct CompiledDeployment {
    pub tree: RouteTree,
    /// Indexed by the route ids in `tree`.
    pub routes: Vec<Route>,
    /// HTTP APIs: the CORS configuration deployed with the routes.
    pub cors: Option<cors::CorsPolicy>,
    /// The API's customised refusals, as deployed.
    pub gateway_responses: gateway_responses::GatewayResponses,
    /// WEBSOCKET APIs: the route selection expression and the routes by
    /// key (the routes are in `routes`; `tree` is empty).
    pub websocket: Option<Box<websocket::WebSocketRoutes>>,
}

#[derive(Debug)]
pub struct Route {
    /// This route's index in its deployment's `routes` (and the id the
    /// route tree answers with).
    pub id: u32,
    /// The resource path template, e.g. `/pets/{petId}`.
    pub resource_path: Box<str>,
    /// The resource's id (`requestContext.resourceId` in authorizer events).
    pub resource_id: Box<str>,
    /// WEBSOCKET APIs: the route key (`$connect`, `sendMessage`, ...),
    /// which stands where other APIs have the verb: in stage and plan
    /// method throttles and method ARNs. None for REST and HTTP APIs.
    pub route_key: Option<Box<str>>,
    /// The `route` metric label: the template, never the raw path.
    pub label: KeyValue,
    /// This route's request metrics, bound per stage, method and status.
    pub series: crate::telemetry::metrics::RouteSeries,
    pub api_key_required: bool,
    /// The authorizer check, when the method has one.
    pub auth: Option<Arc<RouteAuth>>,
    pub integration: CompiledIntegration,
    /// What besides the verb tells this route's cached responses apart.
    pub cache_key: Box<[KeyParam]>,
    /// The method's request validation; None: nothing to check.
    pub validation: Option<Box<validation::RouteValidation>>,
}

#[derive(Debug)]
pub enum CompiledIntegration {
    HttpProxy {
        /// None: the client's verb.
        method: Option<http::Method>,
        uri: UriTemplate,
        timeout: Duration,
    },
    Mock {
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    },
    /// AWS_PROXY: a function, or an HTTP API's service action.
    AwsProxy(Box<crate::aws::integration::ProxyIntegration>),
    /// HTTP, AWS, or MOCK with templates: mapped requests and responses.
    Mapped(Box<crate::mapping::MappedIntegration>),
    /// A WebSocket route's HTTP, or MOCK with templates: events mapped by
    /// template selection expressions.
    WebSocketMapped(Box<crate::event_mapping::WsMapping>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use archway_proto::v1::ApiKey;

    fn key(id: &str, hash_byte: u8, enabled: bool) -> ApiKey {
        ApiKey {
            id: id.into(),
            enabled,
            value_hash: vec![hash_byte; 32],
            ..Default::default()
        }
    }

    #[test]
    fn key_table_versions_share_and_apply_changes() {
        let mut v1 = KeyTable::default();
        v1.upsert(&key("a", 1, true)).unwrap();
        v1.upsert(&key("b", 2, true)).unwrap();
        let mut v2 = v1.clone();
        // Disable a, give b a new value, remove nothing else.
        v2.upsert(&key("a", 1, false)).unwrap();
        v2.upsert(&key("b", 3, true)).unwrap();
        v2.remove("missing");
        assert!(!v2.by_hash[&[1; 32]].enabled);
        assert!(
            !v2.by_hash.contains_key(&[2; 32]),
            "the old value no longer works"
        );
        assert_eq!(&*v2.by_hash[&[3; 32]].id, "b");
        v2.remove("a");
        assert_eq!(v2.len(), 1);
        // The previous version is untouched.
        assert!(v1.by_hash[&[1; 32]].enabled);
        assert_eq!(v1.len(), 2);
        assert!(
            v1.upsert(&ApiKey {
                value_hash: vec![0; 3],
                ..key("c", 0, true)
            })
            .is_err()
        );
    }
}
