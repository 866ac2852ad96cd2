//! HTTP verbs, header names and values, and URLs a node calls.

use super::{Checked, Violation};
use crate::HTTP_METHODS;

/// An RFC 9110 token (`tchar`s, at least one): what header names, media
/// type parts and cache key header names are made of.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Upper-cases and checks an HTTP verb (one of [`HTTP_METHODS`]).
pub fn http_method(field: &str, method: &str) -> Checked<String> {
    let upper = method.to_ascii_uppercase();
    if HTTP_METHODS.contains(&upper.as_str()) {
        Ok(upper)
    } else {
        Err(Violation::new(
            field,
            format!(
                "'{method}' is not a supported HTTP method; use one of {}",
                HTTP_METHODS.join(", ")
            ),
        ))
    }
}

/// A URL nodes call: http:// or https:// (verified against the node's
/// trusted CAs), with a host.
pub fn web_url(field: &str, url: &str) -> Checked {
    if url.is_empty() {
        return Err(Violation::new(field, "is required"));
    }
    let ok = (url.starts_with("http://") || url.starts_with("https://"))
        && url
            .parse::<http::Uri>()
            .is_ok_and(|u| u.host().is_some_and(|h| !h.is_empty()));
    if !ok {
        return Err(Violation::new(
            field,
            format!("'{url}' is not an http:// or https:// URL"),
        ));
    }
    Ok(())
}

pub fn is_header_name(name: &str) -> bool {
    http::HeaderName::from_bytes(name.as_bytes()).is_ok()
}

/// Visible ASCII (and spaces and tabs) only: what a node can send.
pub fn is_header_value(value: &str) -> bool {
    http::HeaderValue::from_str(value).is_ok()
}

/// Headers that frame a message or belong to one connection (RFC 9110
/// section 7.6.1, RFC 9112): the node computes or strips them itself. A
/// mapping that set `Content-Length` or `Transfer-Encoding` to an upstream
/// would let a client's value disagree with the body actually sent (request
/// smuggling), and a gateway response's `Content-Length` would disagree
/// with its template's body; AWS reserves them for the same reason.
pub const RESERVED_HEADERS: &[&str] = &[
    "connection",
    "content-length",
    "host",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Whether a lower-case header name is one of [`RESERVED_HEADERS`] or a
/// `Proxy-*` header: the check without the message, for the data plane's
/// per-request filter (a `HeaderName` is lower case already).
pub fn is_reserved_header(lower: &str) -> bool {
    RESERVED_HEADERS.contains(&lower) || lower.starts_with("proxy-")
}

/// Why `name` cannot be the target of a header mapping (integration
/// request parameters, method and gateway response headers), or `None`.
pub fn reserved_header(name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    is_reserved_header(&lower).then(|| {
        format!(
            "'{name}' is reserved: framing and hop-by-hop headers (Connection, Content-Length, Transfer-Encoding, TE, Trailer, Upgrade, Keep-Alive, Host, Proxy-*) are set by the gateway, never by a mapping"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_are_upper_cased_and_listed() {
        assert_eq!(http_method("m", "get").unwrap(), "GET");
        assert_eq!(http_method("m", "ANY").unwrap(), "ANY");
        assert_eq!(http_method("m", "FETCH").unwrap_err().field, "m");
    }

    #[test]
    fn called_urls_are_http_or_https_with_a_host() {
        for ok in ["http://idp/jwks", "https://idp.example:8443/jwks.json"] {
            assert!(web_url("f", ok).is_ok(), "{ok}");
        }
        for bad in ["", "ftp://idp/jwks", "https://", "idp/jwks", "HTTPS//idp"] {
            assert_eq!(web_url("f", bad).unwrap_err().field, "f", "{bad}");
        }
    }
}
