//! Cache keys: which cached response a request may be answered with.
//!
//! A key is the full byte encoding of what tells responses apart — the
//! target (primary or canary deployment), the route (its resource path and
//! declared verb, by route id), the request's verb, and the value of every
//! cache key parameter the integration names — never a hash of it: the
//! cache compares whole keys, so two requests share an entry only when all
//! of these are equal. Each field is length-prefixed, so no two different
//! requests encode to the same bytes (`a` + `bc` ≠ `ab` + `c`).

use archway_proto::rules::stage_cache::{self, KeyParameter};

/// A cache key parameter of a route, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyParam {
    /// A path parameter, by name.
    Path(Box<str>),
    /// A query string parameter, by (decoded) name; every value counts, in
    /// order.
    Query(Box<str>),
    /// A header; every value counts, in order.
    Header(http::HeaderName),
}

/// Compiles an integration's `cache_key_parameters` for a method on
/// `resource_path`, by the shared rules.
pub fn compile(parameters: &[String], resource_path: &str) -> Result<Box<[KeyParam]>, String> {
    stage_cache::key_parameters("cache_key_parameters", parameters, resource_path)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|p| {
            Ok(match p {
                KeyParameter::Path(name) => KeyParam::Path(name.into()),
                KeyParameter::Query(name) => KeyParam::Query(name.into()),
                KeyParameter::Header(name) => KeyParam::Header(
                    http::HeaderName::from_bytes(name.as_bytes())
                        .map_err(|e| format!("header '{name}': {e}"))?,
                ),
            })
        })
        .collect()
}

/// What a key is made of, borrowed from the request.
#[derive(Debug, Clone, Copy)]
pub struct KeySource<'a> {
    pub canary: bool,
    pub route: u32,
    pub method: &'a http::Method,
    pub params: &'a [KeyParam],
    /// The route's path parameters: (name, value).
    pub path_params: &'a [(&'a str, &'a str)],
    pub query: Option<&'a str>,
    pub headers: &'a http::HeaderMap,
}

/// Writes the key of `source` into `out` (cleared first), so the caller can
/// reuse one buffer per thread for lookups.
pub fn write(out: &mut Vec<u8>, source: &KeySource<'_>) {
    out.clear();
    out.push(u8::from(source.canary));
    out.extend_from_slice(&source.route.to_le_bytes());
    field(out, source.method.as_str().as_bytes());
    for param in source.params {
        let count_at = out.len();
        out.extend_from_slice(&0u32.to_le_bytes());
        let mut count = 0u32;
        let mut value = |out: &mut Vec<u8>, v: &[u8]| {
            field(out, v);
            count += 1;
        };
        match param {
            KeyParam::Path(name) => {
                if let Some((_, v)) = source.path_params.iter().find(|(n, _)| *n == &**name) {
                    value(out, v.as_bytes());
                }
            }
            KeyParam::Query(name) => match source.query {
                // Nothing to decode: the pairs as they are (what
                // form_urlencoded would yield, without its copies).
                Some(q) if !q.bytes().any(|b| b == b'%' || b == b'+') => {
                    for pair in q.split('&').filter(|p| !p.is_empty()) {
                        let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
                        if n == &**name {
                            value(out, v.as_bytes());
                        }
                    }
                }
                Some(q) => {
                    for (n, v) in form_urlencoded::parse(q.as_bytes()) {
                        if n == **name {
                            value(out, v.as_bytes());
                        }
                    }
                }
                None => {}
            },
            KeyParam::Header(name) => {
                for v in source.headers.get_all(name) {
                    value(out, v.as_bytes());
                }
            }
        }
        // Counted first in the key, so values cannot shift between
        // parameters.
        out[count_at..count_at + 4].copy_from_slice(&count.to_le_bytes());
    }
}

fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(source: KeySource<'_>) -> Vec<u8> {
        let mut out = vec![9; 3];
        write(&mut out, &source);
        out
    }

    fn params() -> Box<[KeyParam]> {
        compile(
            &[
                "method.request.path.id".into(),
                "method.request.querystring.q".into(),
                "method.request.header.X-Tenant".into(),
            ],
            "/pets/{id}",
        )
        .unwrap()
    }

    #[test]
    fn named_parameters_tell_requests_apart_and_others_do_not() {
        let params = params();
        let headers = |tenant: &str| {
            let mut h = http::HeaderMap::new();
            h.insert("x-tenant", tenant.parse().unwrap());
            h.insert("x-other", "ignored".parse().unwrap());
            h
        };
        let (h1, h2) = (headers("a"), headers("b"));
        let base = KeySource {
            canary: false,
            route: 3,
            method: &http::Method::GET,
            params: &params,
            path_params: &[("id", "7")],
            query: Some("q=x&other=1"),
            headers: &h1,
        };
        let k = key(base);
        assert_eq!(k, key(base), "the same request, the same key");
        assert_eq!(
            k,
            key(KeySource {
                query: Some("other=2&q=x"),
                ..base
            }),
            "unnamed query parameters do not count"
        );
        let mut h1_more = h1.clone();
        h1_more.insert("x-other", "changed".parse().unwrap());
        assert_eq!(
            k,
            key(KeySource {
                headers: &h1_more,
                ..base
            })
        );
        // Every named part and the route, verb and target count.
        for other in [
            KeySource {
                path_params: &[("id", "8")],
                ..base
            },
            KeySource {
                query: Some("q=y"),
                ..base
            },
            KeySource {
                query: Some("q=x&q=x"),
                ..base
            },
            KeySource {
                query: None,
                ..base
            },
            KeySource {
                headers: &h2,
                ..base
            },
            KeySource { route: 4, ..base },
            KeySource {
                canary: true,
                ..base
            },
            KeySource {
                method: &http::Method::HEAD,
                ..base
            },
        ] {
            assert_ne!(k, key(other), "{other:?}");
        }
        // Decoding or not (another parameter is escaped) reads the named
        // one the same, also when its name is escaped.
        for same in ["q=x&other=a%20b", "%71=x&other=1", "other=a+b&q=x"] {
            assert_eq!(
                k,
                key(KeySource {
                    query: Some(same),
                    ..base
                }),
                "{same}"
            );
        }
        // Percent-encoding and '+' decode before comparing.
        assert_eq!(
            key(KeySource {
                query: Some("q=a%20b"),
                ..base
            }),
            key(KeySource {
                query: Some("q=a+b"),
                ..base
            })
        );
    }

    #[test]
    fn values_cannot_be_shifted_between_parameters() {
        let params = compile(
            &[
                "method.request.querystring.a".into(),
                "method.request.querystring.b".into(),
            ],
            "/",
        )
        .unwrap();
        let headers = http::HeaderMap::new();
        let with = |query| {
            key(KeySource {
                canary: false,
                route: 0,
                method: &http::Method::GET,
                params: &params,
                path_params: &[],
                query: Some(query),
                headers: &headers,
            })
        };
        assert_ne!(with("a=xy&b=z"), with("a=x&b=yz"));
        assert_ne!(with("a=&b=z"), with("b=z"), "empty is not absent");
        assert_ne!(with("a=x,y"), with("a=x&a=y"));
    }

    #[test]
    fn parameters_that_break_the_rules_do_not_compile() {
        assert!(compile(&["method.request.path.nope".into()], "/pets/{id}").is_err());
        assert!(compile(&["body".into()], "/").is_err());
    }
}
