//! An HTTP API's CORS configuration and an API's binary media types.

use super::media::media_type_pattern;
use super::{Checked, Violation, sub};
use crate::v1::{ApiProtocol, CorsConfiguration};

/// The longest preflight cache AWS allows, in seconds.
pub const MAX_AGE_SECONDS: u32 = 86_400;
/// Most entries in one CORS list or the binary media types.
pub const MAX_ENTRIES: usize = 100;

const VERBS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

/// `field` names the configuration (`cors_configuration`, or a document
/// path); `protocol` is the API's.
pub fn cors(field: &str, c: &CorsConfiguration, protocol: ApiProtocol) -> Checked {
    if protocol != ApiProtocol::Http {
        return Err(Violation::new(
            field,
            "only HTTP APIs have a CORS configuration; REST APIs answer CORS with OPTIONS methods (MOCK integrations and header mappings), and WebSocket handshakes are not CORS requests",
        ));
    }
    let lists = [
        ("allow_origins", &c.allow_origins),
        ("allow_methods", &c.allow_methods),
        ("allow_headers", &c.allow_headers),
        ("expose_headers", &c.expose_headers),
    ];
    for (name, list) in lists {
        if list.len() > MAX_ENTRIES {
            return Err(Violation::new(
                sub(field, name),
                format!("at most {MAX_ENTRIES} entries"),
            ));
        }
    }
    for (i, origin) in c.allow_origins.iter().enumerate() {
        if origin != "*" {
            self::origin(&format!("{field}.allow_origins[{i}]"), origin)?;
        }
    }
    for (i, verb) in c.allow_methods.iter().enumerate() {
        if verb != "*" && !VERBS.contains(&verb.to_ascii_uppercase().as_str()) {
            return Err(Violation::new(
                format!("{field}.allow_methods[{i}]"),
                format!("'{verb}' is not an HTTP verb ({}) or *", VERBS.join(", ")),
            ));
        }
    }
    for (name, list) in [
        ("allow_headers", &c.allow_headers),
        ("expose_headers", &c.expose_headers),
    ] {
        for (i, header) in list.iter().enumerate() {
            if header != "*" && !super::http::is_header_name(header) {
                return Err(Violation::new(
                    format!("{field}.{name}[{i}]"),
                    format!("'{header}' is not a header name or *"),
                ));
            }
        }
    }
    if let Some(age) = c.max_age_seconds
        && age > MAX_AGE_SECONDS
    {
        return Err(Violation::new(
            sub(field, "max_age_seconds"),
            format!("must be 0 to {MAX_AGE_SECONDS} seconds, got {age}"),
        ));
    }
    if c.allow_credentials && c.allow_origins.iter().any(|o| o == "*") {
        return Err(Violation::new(
            sub(field, "allow_credentials"),
            "cannot be true with the origin '*' (browsers refuse it); list the origins",
        ));
    }
    Ok(())
}

/// `scheme://host[:port]`, nothing else (browsers send origins so). The
/// node compares a request's `Origin` with each listed origin as a whole
/// (ignoring case), so a `*` inside an origin (`https://*.example.com`)
/// would never match any browser: it is refused rather than accepted and
/// silently dead. An IPv6 host is bracketed (`https://[::1]:8080`), so its
/// colons are not a port.
fn origin(field: &str, value: &str) -> Checked {
    let bad = || {
        Violation::new(
            field,
            format!("'{value}' is not an origin: use * or scheme://host[:port] without a path"),
        )
    };
    if value.contains('*') {
        return Err(Violation::new(
            field,
            format!(
                "'{value}': wildcards inside an origin are not supported (origins are matched whole); list each origin, or use * alone for any origin"
            ),
        ));
    }
    let (scheme, rest) = value.split_once("://").ok_or_else(bad)?;
    let scheme_ok = !scheme.is_empty()
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    let (host_ok, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let (inner, after) = bracketed.split_once(']').ok_or_else(bad)?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or_else(bad)?),
        };
        (inner.parse::<std::net::Ipv6Addr>().is_ok(), port)
    } else {
        let (host, port) = match rest.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        };
        let ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.".contains(&b));
        (ok, port)
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.parse::<u16>().is_ok());
    if scheme_ok && host_ok && port_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// An API's binary media types: patterns, each once.
pub fn binary_media_types(field: &str, types: &[String]) -> Checked {
    if types.len() > MAX_ENTRIES {
        return Err(Violation::new(
            field,
            format!("at most {MAX_ENTRIES} entries"),
        ));
    }
    for (i, t) in types.iter().enumerate() {
        let at = format!("{field}[{i}]");
        media_type_pattern(&at, t)?;
        if types[..i].iter().any(|u| u.eq_ignore_ascii_case(t)) {
            return Err(Violation::new(at, format!("'{t}' is listed twice")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> CorsConfiguration {
        CorsConfiguration {
            allow_origins: vec![
                "https://app.example.com".into(),
                "http://localhost:3000".into(),
            ],
            allow_methods: vec!["GET".into(), "post".into()],
            allow_headers: vec!["content-type".into(), "*".into()],
            expose_headers: vec!["x-request-id".into()],
            max_age_seconds: Some(600),
            allow_credentials: true,
        }
    }

    #[test]
    fn cors_rules_name_the_field() {
        cors("c", &good(), ApiProtocol::Http).unwrap();
        assert_eq!(
            cors("c", &good(), ApiProtocol::Rest).unwrap_err().field,
            "c"
        );
        for (bad, field) in [
            (
                CorsConfiguration {
                    allow_origins: vec!["https://a.example/path".into()],
                    ..good()
                },
                "c.allow_origins[0]",
            ),
            (
                CorsConfiguration {
                    allow_origins: vec!["a.example".into()],
                    ..good()
                },
                "c.allow_origins[0]",
            ),
            (
                CorsConfiguration {
                    allow_origins: vec!["https://a:99999".into()],
                    ..good()
                },
                "c.allow_origins[0]",
            ),
            (
                CorsConfiguration {
                    allow_origins: vec!["*".into()],
                    ..good()
                },
                "c.allow_credentials",
            ),
            (
                CorsConfiguration {
                    allow_methods: vec!["FETCH".into()],
                    ..good()
                },
                "c.allow_methods[0]",
            ),
            (
                CorsConfiguration {
                    allow_headers: vec!["bad header".into()],
                    ..good()
                },
                "c.allow_headers[0]",
            ),
            (
                CorsConfiguration {
                    max_age_seconds: Some(86_401),
                    ..good()
                },
                "c.max_age_seconds",
            ),
        ] {
            assert_eq!(cors("c", &bad, ApiProtocol::Http).unwrap_err().field, field);
        }
        let any = CorsConfiguration {
            allow_origins: vec!["*".into()],
            allow_credentials: false,
            ..good()
        };
        cors("c", &any, ApiProtocol::Http).unwrap();
    }

    #[test]
    fn wildcard_subdomain_origins_are_refused_and_ipv6_origins_accepted() {
        let with = |origins: &[&str]| CorsConfiguration {
            allow_origins: origins.iter().map(|o| o.to_string()).collect(),
            ..good()
        };
        for wild in [
            "https://*.example.com",
            "https://*",
            "*://example.com",
            "https://example.com:*",
        ] {
            let err = cors("c", &with(&[wild]), ApiProtocol::Http).unwrap_err();
            assert_eq!(err.field, "c.allow_origins[0]", "{wild}");
            assert!(err.reason.contains("wildcards"), "{wild}: {}", err.reason);
        }
        for ok in [
            "https://[::1]",
            "https://[::1]:8443",
            "http://[2001:db8::7]",
            "http://localhost:3000",
        ] {
            cors("c", &with(&[ok]), ApiProtocol::Http).unwrap_or_else(|e| panic!("{ok}: {e:?}"));
        }
        for bad in [
            "https://[::1",
            "https://[nothex]",
            "https://[::1]x",
            "https://[::1]:",
            "https://a:b:1",
            "https://[::1]:99999",
        ] {
            assert_eq!(
                cors("c", &with(&[bad]), ApiProtocol::Http)
                    .unwrap_err()
                    .field,
                "c.allow_origins[0]",
                "{bad}"
            );
        }
    }

    #[test]
    fn binary_media_types_are_patterns_listed_once() {
        binary_media_types("b", &["image/png".into(), "*/*".into()]).unwrap();
        assert_eq!(
            binary_media_types("b", &["png".into()]).unwrap_err().field,
            "b[0]"
        );
        assert_eq!(
            binary_media_types("b", &["a/b".into(), "a/b".into()])
                .unwrap_err()
                .field,
            "b[1]"
        );
    }
}
