//! A client's `Cache-Control: max-age=0`: a request to refetch and replace
//! the cached response, honoured only for callers allowed
//! `execute-api:InvalidateCache` (when the method requires authorization);
//! for others, the method's strategy says what happens, as in AWS.

use super::config::MethodCache;
use archway_proto::rules::stage_cache::Unauthorized;

/// What AWS answers an unauthorized caller with, as a `Warning` header.
pub const WARNING: &str =
    "199 - \"Cache-control headers were ignored because the caller was unauthorized.\"";

/// Whether the request asks for a fresh response: a `Cache-Control` header
/// with the directive `max-age=0` (in any field, any case, among others).
pub fn wants_refresh(headers: &http::HeaderMap) -> bool {
    headers
        .get_all(http::header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|directive| {
            let mut parts = directive.trim().splitn(2, '=');
            let name = parts.next().unwrap_or("");
            let value = parts.next().map(|v| v.trim().trim_matches('"'));
            name.trim().eq_ignore_ascii_case("max-age") && value == Some("0")
        })
}

/// What the cache does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Answer from the cache when it can; `warn`: add the `Warning` header.
    Serve { warn: bool },
    /// Skip the cache, call the integration, replace the entry.
    Refresh,
    /// 403: the caller asked to invalidate and may not.
    Refuse,
}

/// The invalidation rules. `may_invalidate` is asked only when it matters:
/// the client sent `max-age=0` and the method requires authorization.
pub fn decide(
    method: &MethodCache,
    wants_refresh: bool,
    may_invalidate: impl FnOnce() -> bool,
) -> Decision {
    if !wants_refresh {
        return Decision::Serve { warn: false };
    }
    if !method.require_authorization || may_invalidate() {
        return Decision::Refresh;
    }
    match method.unauthorized {
        Unauthorized::Fail => Decision::Refuse,
        Unauthorized::IgnoreWithWarning => Decision::Serve { warn: true },
        Unauthorized::Ignore => Decision::Serve { warn: false },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn headers(values: &[&str]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for v in values {
            h.append(http::header::CACHE_CONTROL, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn max_age_zero_is_found_among_directives_and_fields() {
        assert!(wants_refresh(&headers(&["max-age=0"])));
        assert!(wants_refresh(&headers(&["no-transform, MAX-AGE=0"])));
        assert!(wants_refresh(&headers(&["public", "max-age = 0"])));
        assert!(wants_refresh(&headers(&["max-age=\"0\""])));
        assert!(!wants_refresh(&headers(&[])));
        assert!(!wants_refresh(&headers(&["max-age=00x"])));
        assert!(!wants_refresh(&headers(&["max-age=10"])));
        assert!(!wants_refresh(&headers(&["s-max-age=0"])));
        assert!(!wants_refresh(&headers(&["no-cache"])));
    }

    fn method(require_authorization: bool, unauthorized: Unauthorized) -> MethodCache {
        MethodCache {
            ttl: Duration::from_secs(1),
            require_authorization,
            unauthorized,
        }
    }

    #[test]
    fn only_allowed_callers_refresh_and_the_others_get_the_strategy() {
        let never = || -> bool { panic!("the permission is not asked without max-age=0") };
        let m = method(true, Unauthorized::Fail);
        assert_eq!(decide(&m, false, never), Decision::Serve { warn: false });
        assert_eq!(decide(&m, true, || true), Decision::Refresh);
        assert_eq!(decide(&m, true, || false), Decision::Refuse);
        let m = method(true, Unauthorized::IgnoreWithWarning);
        assert_eq!(decide(&m, true, || false), Decision::Serve { warn: true });
        let m = method(true, Unauthorized::Ignore);
        assert_eq!(decide(&m, true, || false), Decision::Serve { warn: false });
        // Without required authorization anyone refreshes, unasked.
        let m = method(false, Unauthorized::Fail);
        let unasked = || -> bool { panic!("not asked when not required") };
        assert_eq!(decide(&m, true, unasked), Decision::Refresh);
    }
}
