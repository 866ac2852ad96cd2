//! Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection, not
//! the message, so a proxy neither forwards them to the backend nor passes
//! a backend's on to the client. A leaf module: the pipeline strips them
//! from requests, the outbound client leaves them out of responses and
//! trailers.

use http::header::{self, HeaderMap, HeaderName};

const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

const HOP_BY_HOP: [HeaderName; 7] = [
    header::CONNECTION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHORIZATION,
    header::PROXY_AUTHENTICATE,
];

/// Headers that describe one connection (RFC 9110 §7.6.1), not the message.
pub fn is_hop_by_hop(name: &HeaderName) -> bool {
    HOP_BY_HOP.contains(name) || *name == KEEP_ALIVE || *name == PROXY_CONNECTION
}

/// Headers an integration (a mapping, an override, a function's answer)
/// may not set: framing and hop-by-hop headers (`Content-Length`,
/// `Transfer-Encoding`, `Connection`, `Host`, `Proxy-*`, ...), which the
/// gateway sets or strips itself. The list is the one the control plane
/// refuses mapping targets by ([`archway_proto::rules::http::RESERVED_HEADERS`]),
/// which covers every [`is_hop_by_hop`] name.
pub fn is_reserved(name: &HeaderName) -> bool {
    archway_proto::rules::http::is_reserved_header(name.as_str())
}

/// Removes hop-by-hop headers, including any the `Connection` header names.
/// Most messages carry none, so one pass over the (few) headers present
/// decides, instead of a hash lookup per hop-by-hop name.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    if !headers.keys().any(is_hop_by_hop) {
        return;
    }
    if headers.contains_key(header::CONNECTION) {
        let named: Vec<HeaderName> = headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
            .collect();
        for name in named {
            headers.remove(name);
        }
    }
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
    headers.remove(KEEP_ALIVE);
    headers.remove(PROXY_CONNECTION);
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn strips_standard_and_connection_named_headers() {
        let mut h = HeaderMap::new();
        h.insert(
            "connection",
            HeaderValue::from_static("keep-alive, x-secret"),
        );
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        h.insert("x-kept", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-kept"));
    }

    /// The reserved list is a superset of the hop-by-hop one, so checking
    /// it alone drops every hop-by-hop name too.
    #[test]
    fn every_hop_by_hop_header_is_reserved() {
        for name in HOP_BY_HOP.iter().chain([&KEEP_ALIVE, &PROXY_CONNECTION]) {
            assert!(is_reserved(name), "{name}");
        }
        assert!(is_reserved(&header::CONTENT_LENGTH));
        assert!(is_reserved(&header::HOST));
        assert!(!is_reserved(&header::CONTENT_TYPE));
    }
}
