//! A stage's cache settings as a node serves them, compiled once per
//! configuration version: per route and verb, whether and how long to
//! cache, so a request reads two array slots instead of matching settings.
//!
//! This is configuration only (it lives in the runtime tables); the cached
//! entries live in [`super::StageCaches`], beside the tables.

use archway_proto::rules::stage_cache::{self, MethodCaching, Unauthorized};
use archway_proto::v1::Stage;
use std::time::Duration;

/// Verbs with a slot of their own (in [`crate::routes::verb_slot`]'s
/// order); any other verb is never cached.
const VERBS: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

/// How one route is cached, by verb slot.
pub type RouteCaching = [Option<MethodCache>; VERBS.len()];

/// One method's caching, ready for the request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodCache {
    pub ttl: Duration,
    pub require_authorization: bool,
    pub unauthorized: Unauthorized,
}

/// What the cached entries of a stage were made under. Entries are kept
/// across table swaps only while it is equal: a new deployment (primary or
/// canary), a flush or a new capacity starts the stage's cache afresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEpoch {
    pub primary_deployment: Box<str>,
    pub canary_deployment: Option<Box<str>>,
    pub flush_generation: u64,
    pub capacity_bytes: u64,
}

/// A stage's cache, compiled.
#[derive(Debug)]
pub struct StageCacheConfig {
    pub epoch: CacheEpoch,
    /// Indexed by the primary deployment's route ids.
    pub primary: Box<[RouteCaching]>,
    /// Indexed by the canary deployment's route ids (empty without one).
    pub canary: Box<[RouteCaching]>,
}

impl StageCacheConfig {
    /// `None` when the stage caches nothing. `primary_routes` and
    /// `canary_routes` are the resource paths of the deployments' routes,
    /// by route id. Refuses settings that break the shared rules.
    pub fn compile<'a>(
        stage: &Stage,
        primary_routes: impl IntoIterator<Item = &'a str>,
        canary_routes: impl IntoIterator<Item = &'a str>,
    ) -> Result<Option<Self>, String> {
        stage_cache::stage("stage", stage).map_err(|e| e.to_string())?;
        if !stage.cache_cluster_enabled {
            return Ok(None);
        }
        let capacity_bytes = stage_cache::capacity_bytes(&stage.cache_cluster_size)?;
        let routes = |paths: &mut dyn Iterator<Item = &'a str>| -> Box<[RouteCaching]> {
            paths
                .map(|path| {
                    VERBS.map(|verb| {
                        let MethodCaching {
                            enabled,
                            ttl_seconds,
                            require_authorization,
                            unauthorized,
                        } = stage_cache::resolve(stage, path, verb);
                        enabled.then_some(MethodCache {
                            ttl: Duration::from_secs(ttl_seconds.into()),
                            require_authorization,
                            unauthorized,
                        })
                    })
                })
                .collect()
        };
        let primary = routes(&mut primary_routes.into_iter());
        let canary = routes(&mut canary_routes.into_iter());
        let nothing_cached = primary
            .iter()
            .chain(canary.iter())
            .all(|r| r.iter().all(Option::is_none));
        if nothing_cached {
            return Ok(None);
        }
        Ok(Some(Self {
            epoch: CacheEpoch {
                primary_deployment: stage.deployment_id.as_str().into(),
                canary_deployment: stage
                    .canary
                    .as_ref()
                    .filter(|c| c.percent_traffic > 0.0)
                    .map(|c| c.deployment_id.as_str().into()),
                flush_generation: stage.cache_flush_generation,
                capacity_bytes,
            },
            primary,
            canary,
        }))
    }

    /// How `method` on route `route` of the primary (or canary) target is
    /// cached; `None`: not at all.
    pub fn method(&self, canary: bool, route: u32, method: &http::Method) -> Option<MethodCache> {
        let routes = if canary { &self.canary } else { &self.primary };
        routes.get(route as usize)?[crate::routes::verb_slot(method)?]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use archway_proto::v1::{CanarySettings, MethodCacheSetting};

    #[test]
    fn compiles_per_route_and_verb_and_names_its_epoch() {
        let mut stage = Stage {
            deployment_id: "d1".into(),
            cache_cluster_enabled: true,
            cache_ttl_seconds: Some(30),
            cache_flush_generation: 4,
            method_cache_settings: vec![MethodCacheSetting {
                resource_path: "/b".into(),
                http_method: "POST".into(),
                caching_enabled: true,
                cache_ttl_in_seconds: Some(7),
                ..Default::default()
            }],
            ..Default::default()
        };
        let config = StageCacheConfig::compile(&stage, ["/a", "/b"], [])
            .unwrap()
            .unwrap();
        assert_eq!(
            config.epoch,
            CacheEpoch {
                primary_deployment: "d1".into(),
                canary_deployment: None,
                flush_generation: 4,
                capacity_bytes: 500_000,
            }
        );
        let get_a = config.method(false, 0, &http::Method::GET).unwrap();
        assert_eq!(get_a.ttl, Duration::from_secs(30));
        assert!(config.method(false, 0, &http::Method::POST).is_none());
        assert_eq!(
            config.method(false, 1, &http::Method::POST).unwrap().ttl,
            Duration::from_secs(7)
        );
        assert!(
            config.method(false, 2, &http::Method::GET).is_none(),
            "no route 2"
        );
        assert!(
            config.method(true, 0, &http::Method::GET).is_none(),
            "no canary"
        );
        assert!(config.method(false, 0, &http::Method::CONNECT).is_none());

        stage.canary = Some(CanarySettings {
            deployment_id: "d2".into(),
            percent_traffic: 10.0,
            ..Default::default()
        });
        let config = StageCacheConfig::compile(&stage, ["/a"], ["/a"])
            .unwrap()
            .unwrap();
        assert_eq!(config.epoch.canary_deployment.as_deref(), Some("d2"));
        assert!(config.method(true, 0, &http::Method::GET).is_some());

        stage.cache_cluster_enabled = false;
        assert!(
            StageCacheConfig::compile(&stage, ["/a"], [])
                .unwrap()
                .is_none()
        );
        stage.cache_cluster_enabled = true;
        stage.cache_cluster_size = "2".into();
        assert!(StageCacheConfig::compile(&stage, ["/a"], []).is_err());
    }
}
