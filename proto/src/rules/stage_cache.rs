//! The stage cache's settings, as AWS API Gateway names them: a stage's
//! cache cluster (enabled, size, default TTL), per-method caching
//! (`MethodCacheSetting`) and an integration's `cacheKeyParameters`.
//!
//! These are the rules; the control plane calls them when a stage or an
//! integration is written, and a node's compiler calls them again (and
//! reads the settings through [`resolve`]) when it builds its tables.

use super::{Checked, Violation};
use crate::v1::{MethodCacheSetting, Stage, UnauthorizedCacheControlHeaderStrategy};

/// AWS's cache cluster sizes, read here as megabytes per node.
pub const CLUSTER_SIZES: [&str; 8] = ["0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237"];
/// The size of a stage that names none.
pub const DEFAULT_CLUSTER_SIZE: &str = "0.5";
/// A response is kept this long unless the stage or method says otherwise.
pub const DEFAULT_TTL_SECONDS: u32 = 300;
/// The longest TTL AWS allows.
pub const MAX_TTL_SECONDS: u32 = 3600;
/// AWS caches no response larger than this.
pub const MAX_ENTRY_BYTES: usize = 1_048_576;
/// Cache key parameters one integration may name.
pub const MAX_CACHE_KEY_PARAMETERS: usize = 16;

/// The capacity in bytes of a cluster size (`""` is the default size).
/// Sizes are decimal megabytes with at most one decimal: integer arithmetic,
/// no float rounding.
pub fn capacity_bytes(size: &str) -> Result<u64, String> {
    let size = if size.is_empty() {
        DEFAULT_CLUSTER_SIZE
    } else {
        size
    };
    if !CLUSTER_SIZES.contains(&size) {
        return Err(format!(
            "'{size}' is not a cache cluster size; use one of {}",
            CLUSTER_SIZES.join(", ")
        ));
    }
    let (whole, tenths) = size.split_once('.').unwrap_or((size, "0"));
    let parse = |s: &str| s.parse::<u64>().map_err(|e| format!("'{size}': {e}"));
    Ok((parse(whole)? * 10 + parse(tenths)?) * 100_000)
}

/// A TTL in seconds: 0 to [`MAX_TTL_SECONDS`].
pub fn ttl(field: &str, seconds: u32) -> Checked {
    if seconds > MAX_TTL_SECONDS {
        return Err(Violation::new(
            field,
            format!("must be between 0 and {MAX_TTL_SECONDS} seconds, got {seconds}"),
        ));
    }
    Ok(())
}

/// Every cache setting of a stage (`field` names the stage, e.g. `stage`).
pub fn stage(field: &str, s: &Stage) -> Checked {
    capacity_bytes(&s.cache_cluster_size)
        .map_err(|reason| Violation::new(format!("{field}.cache_cluster_size"), reason))?;
    if let Some(seconds) = s.cache_ttl_seconds {
        ttl(&format!("{field}.cache_ttl_seconds"), seconds)?;
    }
    let mut seen = std::collections::HashSet::new();
    for (i, m) in s.method_cache_settings.iter().enumerate() {
        let field = format!("{field}.method_cache_settings[{i}]");
        method_setting(&field, m)?;
        if !seen.insert((m.resource_path.as_str(), m.http_method.as_str())) {
            return Err(Violation::new(
                field,
                format!("a second entry for {} {}", m.http_method, m.resource_path),
            ));
        }
    }
    Ok(())
}

/// One per-method entry: `*` or a resource path, `*` or an upper-case verb,
/// a TTL in range and a known strategy.
pub fn method_setting(field: &str, m: &MethodCacheSetting) -> Checked {
    if m.resource_path != "*" && !m.resource_path.starts_with('/') {
        return Err(Violation::new(
            format!("{field}.resource_path"),
            format!(
                "'{}' must be '*' or a resource path such as /pets/{{petId}}",
                m.resource_path
            ),
        ));
    }
    if m.http_method != "*" && !crate::HTTP_METHODS.contains(&m.http_method.as_str()) {
        return Err(Violation::new(
            format!("{field}.http_method"),
            format!(
                "'{}' must be '*' or one of {}",
                m.http_method,
                crate::HTTP_METHODS.join(", ")
            ),
        ));
    }
    if let Some(seconds) = m.cache_ttl_in_seconds {
        ttl(&format!("{field}.cache_ttl_in_seconds"), seconds)?;
    }
    UnauthorizedCacheControlHeaderStrategy::try_from(m.unauthorized_cache_control_header_strategy)
        .map_err(|_| {
            Violation::new(
                format!("{field}.unauthorized_cache_control_header_strategy"),
                format!(
                    "unknown strategy {}; use FAIL_WITH_403, SUCCEED_WITH_RESPONSE_HEADER or SUCCEED_WITHOUT_RESPONSE_HEADER",
                    m.unauthorized_cache_control_header_strategy
                ),
            )
        })?;
    Ok(())
}

/// Where a cache key parameter comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyParameter<'a> {
    /// A path parameter of the resource, by name (`{proxy+}` is `proxy`).
    Path(&'a str),
    /// A query string parameter, by name (case-sensitive).
    Query(&'a str),
    /// A header, by name (case-insensitive; lower-cased by the node).
    Header(&'a str),
}

/// Parses `method.request.{path|querystring|header}.NAME`.
pub fn key_parameter(text: &str) -> Result<KeyParameter<'_>, String> {
    let bad = || {
        format!(
            "'{text}' is not a cache key parameter; use method.request.path.NAME, method.request.querystring.NAME or method.request.header.NAME"
        )
    };
    let rest = text.strip_prefix("method.request.").ok_or_else(bad)?;
    let (kind, name) = rest.split_once('.').ok_or_else(bad)?;
    if name.is_empty() {
        return Err(bad());
    }
    match kind {
        "path" => Ok(KeyParameter::Path(name)),
        "querystring" => Ok(KeyParameter::Query(name)),
        "header" if super::http::is_token(name) => Ok(KeyParameter::Header(name)),
        "header" => Err(format!("'{name}' is not a valid header name")),
        _ => Err(bad()),
    }
}

/// An integration's cache key parameters for a method on `resource_path`:
/// each well-formed, path parameters of that resource, none twice.
pub fn key_parameters<'a>(
    field: &str,
    parameters: &'a [String],
    resource_path: &str,
) -> Checked<Vec<KeyParameter<'a>>> {
    if parameters.len() > MAX_CACHE_KEY_PARAMETERS {
        return Err(Violation::new(
            field,
            format!(
                "at most {MAX_CACHE_KEY_PARAMETERS} parameters, got {}",
                parameters.len()
            ),
        ));
    }
    let mut parsed = Vec::with_capacity(parameters.len());
    for (i, text) in parameters.iter().enumerate() {
        let field = format!("{field}[{i}]");
        let p = key_parameter(text).map_err(|reason| Violation::new(&field, reason))?;
        if let KeyParameter::Path(name) = p {
            super::mapping::resource_param(&field, name, resource_path)?;
        }
        let same = |q: &KeyParameter<'_>| match (q, &p) {
            (KeyParameter::Header(a), KeyParameter::Header(b)) => a.eq_ignore_ascii_case(b),
            (a, b) => a == b,
        };
        if parsed.iter().any(same) {
            return Err(Violation::new(field, format!("'{text}' is named twice")));
        }
        parsed.push(p);
    }
    Ok(parsed)
}

/// What a client's `Cache-Control: max-age=0` does when the caller may not
/// invalidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unauthorized {
    /// 403.
    Fail,
    /// Served from the cache with a `Warning` header.
    IgnoreWithWarning,
    /// Served from the cache.
    Ignore,
}

/// How one method of a stage is cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodCaching {
    pub enabled: bool,
    pub ttl_seconds: u32,
    pub require_authorization: bool,
    pub unauthorized: Unauthorized,
}

/// How `verb` on `resource_path` is cached on stage `s`: the most specific
/// method entry (path and verb, path and `*`, `*` and verb, `*` and `*`);
/// an entry with verb `*` (or none) caches GET only. Settings are assumed
/// valid ([`stage`]); an unknown strategy reads as AWS's default.
pub fn resolve(s: &Stage, resource_path: &str, verb: &str) -> MethodCaching {
    let stage_ttl = s.cache_ttl_seconds.unwrap_or(DEFAULT_TTL_SECONDS);
    let entry = [
        (resource_path, verb),
        (resource_path, "*"),
        ("*", verb),
        ("*", "*"),
    ]
    .into_iter()
    .find_map(|(p, v)| {
        s.method_cache_settings
            .iter()
            .find(|m| m.resource_path == p && m.http_method == v)
    });
    let by_name = entry.is_some_and(|m| m.http_method == verb);
    let enabled = s.cache_cluster_enabled
        && (verb == "GET" || by_name)
        && entry.is_none_or(|m| m.caching_enabled);
    let ttl_seconds = entry
        .and_then(|m| m.cache_ttl_in_seconds)
        .unwrap_or(stage_ttl);
    let unauthorized = match entry.map(|m| m.unauthorized_cache_control_header_strategy()) {
        Some(UnauthorizedCacheControlHeaderStrategy::FailWith403) => Unauthorized::Fail,
        Some(UnauthorizedCacheControlHeaderStrategy::SucceedWithoutResponseHeader) => {
            Unauthorized::Ignore
        }
        _ => Unauthorized::IgnoreWithWarning,
    };
    MethodCaching {
        enabled: enabled && ttl_seconds > 0,
        ttl_seconds,
        require_authorization: entry
            .and_then(|m| m.require_authorization_for_cache_control)
            .unwrap_or(true),
        unauthorized,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(path: &str, verb: &str, enabled: bool) -> MethodCacheSetting {
        MethodCacheSetting {
            resource_path: path.into(),
            http_method: verb.into(),
            caching_enabled: enabled,
            ..Default::default()
        }
    }

    fn cached_stage(settings: Vec<MethodCacheSetting>) -> Stage {
        Stage {
            cache_cluster_enabled: true,
            method_cache_settings: settings,
            ..Default::default()
        }
    }

    #[test]
    fn cluster_sizes_are_aws_sizes_in_megabytes() {
        assert_eq!(capacity_bytes(""), Ok(500_000));
        assert_eq!(capacity_bytes("0.5"), Ok(500_000));
        assert_eq!(capacity_bytes("1.6"), Ok(1_600_000));
        assert_eq!(capacity_bytes("237"), Ok(237_000_000));
        for bad in ["1", "0.50", "-0.5", "237.0", "1e3", " 0.5", "NaN"] {
            let e = capacity_bytes(bad).unwrap_err();
            assert!(e.contains("0.5, 1.6"), "{bad}: {e}");
        }
    }

    #[test]
    fn ttls_over_an_hour_are_refused_with_the_field() {
        let mut s = Stage {
            cache_ttl_seconds: Some(3601),
            ..Default::default()
        };
        assert_eq!(
            stage("stage", &s).unwrap_err().field,
            "stage.cache_ttl_seconds"
        );
        s.cache_ttl_seconds = Some(3600);
        assert!(stage("stage", &s).is_ok());
        s.method_cache_settings = vec![MethodCacheSetting {
            cache_ttl_in_seconds: Some(u32::MAX),
            ..setting("/a", "GET", true)
        }];
        assert_eq!(
            stage("stage", &s).unwrap_err().field,
            "stage.method_cache_settings[0].cache_ttl_in_seconds"
        );
    }

    #[test]
    fn method_settings_need_a_path_a_verb_a_known_strategy_and_no_twin() {
        let refused =
            |m: MethodCacheSetting| stage("stage", &cached_stage(vec![m])).unwrap_err().field;
        assert_eq!(
            refused(setting("pets", "GET", true)),
            "stage.method_cache_settings[0].resource_path"
        );
        assert_eq!(
            refused(setting("/pets", "get", true)),
            "stage.method_cache_settings[0].http_method"
        );
        assert_eq!(
            refused(MethodCacheSetting {
                unauthorized_cache_control_header_strategy: 9,
                ..setting("*", "*", true)
            }),
            "stage.method_cache_settings[0].unauthorized_cache_control_header_strategy"
        );
        let twins = cached_stage(vec![
            setting("/a", "GET", true),
            setting("/a", "GET", false),
        ]);
        assert_eq!(
            stage("stage", &twins).unwrap_err().field,
            "stage.method_cache_settings[1]"
        );
    }

    #[test]
    fn key_parameters_are_parsed_and_checked_against_the_resource() {
        let params = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let ok = params(&[
            "method.request.path.id",
            "method.request.querystring.q",
            "method.request.header.X-Tenant",
        ]);
        assert_eq!(
            key_parameters("i", &ok, "/pets/{id}").unwrap(),
            vec![
                KeyParameter::Path("id"),
                KeyParameter::Query("q"),
                KeyParameter::Header("X-Tenant")
            ]
        );
        assert_eq!(
            key_parameters("i", &params(&["method.request.path.proxy"]), "/{proxy+}").unwrap(),
            vec![KeyParameter::Path("proxy")]
        );
        for (bad, field) in [
            (params(&["method.request.path.other"]), "i[0]"),
            (params(&["method.request.body.x"]), "i[0]"),
            (params(&["method.request.header."]), "i[0]"),
            (params(&["method.request.header.a b"]), "i[0]"),
            (params(&["integration.request.header.a"]), "i[0]"),
            (
                params(&["method.request.header.A", "method.request.header.a"]),
                "i[1]",
            ),
            (vec!["method.request.querystring.q".to_string(); 17], "i"),
        ] {
            assert_eq!(
                key_parameters("i", &bad, "/pets/{id}").unwrap_err().field,
                field,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn only_get_is_cached_unless_a_method_opts_in() {
        let s = cached_stage(vec![]);
        assert!(resolve(&s, "/a", "GET").enabled);
        assert!(!resolve(&s, "/a", "POST").enabled);
        assert_eq!(resolve(&s, "/a", "GET").ttl_seconds, DEFAULT_TTL_SECONDS);
        // A "*" verb still means GET only; naming POST opts it in.
        let s = cached_stage(vec![setting("*", "*", true), setting("/a", "POST", true)]);
        assert!(!resolve(&s, "/b", "POST").enabled);
        assert!(resolve(&s, "/a", "POST").enabled);
        // The cluster off caches nothing, whatever the methods say.
        let mut off = s.clone();
        off.cache_cluster_enabled = false;
        assert!(!resolve(&off, "/a", "POST").enabled);
        assert!(!resolve(&off, "/a", "GET").enabled);
    }

    #[test]
    fn the_most_specific_entry_wins_and_fills_in_defaults() {
        let s = Stage {
            cache_ttl_seconds: Some(60),
            ..cached_stage(vec![
                setting("*", "*", true),
                MethodCacheSetting {
                    cache_ttl_in_seconds: Some(5),
                    require_authorization_for_cache_control: Some(false),
                    unauthorized_cache_control_header_strategy:
                        UnauthorizedCacheControlHeaderStrategy::FailWith403 as i32,
                    ..setting("/a", "*", true)
                },
                setting("/a", "GET", false),
                setting("/b", "GET", true),
            ])
        };
        assert!(!resolve(&s, "/a", "GET").enabled, "path and verb first");
        let b = resolve(&s, "/b", "GET");
        assert_eq!(
            b,
            MethodCaching {
                enabled: true,
                ttl_seconds: 60,
                require_authorization: true,
                unauthorized: Unauthorized::IgnoreWithWarning,
            }
        );
        let a_head = resolve(&s, "/a", "HEAD");
        assert!(!a_head.enabled, "a '*' verb does not opt HEAD in");
        assert_eq!(a_head.ttl_seconds, 5);
        assert!(!a_head.require_authorization);
        assert_eq!(a_head.unauthorized, Unauthorized::Fail);
        // TTL 0 caches nothing.
        let zero = Stage {
            cache_ttl_seconds: Some(0),
            ..cached_stage(vec![])
        };
        assert!(!resolve(&zero, "/a", "GET").enabled);
    }
}
