//! Header rules for proxying: hop-by-hop headers stay on their own hop
//! (RFC 9110 §7.6.1), and the backend learns who the client was.

use http::{HeaderMap, HeaderName, HeaderValue, header};
use std::net::IpAddr;

// Names the pipeline uses on every request, made once: a `&str` name is
// parsed and validated again on each lookup.
pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
pub const X_AMZN_REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");
pub const X_AMZN_ERROR_TYPE: HeaderName = HeaderName::from_static("x-amzn-errortype");
const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

const HOP_BY_HOP: [header::HeaderName; 7] = [
    header::CONNECTION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHORIZATION,
    header::PROXY_AUTHENTICATE,
];

/// Headers that describe one connection (RFC 9110 §7.6.1), not the message.
pub fn is_hop_by_hop(name: &header::HeaderName) -> bool {
    HOP_BY_HOP.contains(name) || *name == KEEP_ALIVE || *name == PROXY_CONNECTION
}

/// Removes hop-by-hop headers, including any the `Connection` header names.
/// Most messages carry none, so one pass over the (few) headers present
/// decides, instead of a hash lookup per hop-by-hop name.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    if !headers.keys().any(is_hop_by_hop) {
        return;
    }
    if headers.contains_key(header::CONNECTION) {
        let named: Vec<header::HeaderName> = headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|name| header::HeaderName::from_bytes(name.trim().as_bytes()).ok())
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

/// Who is on the other end of a downstream connection, worked out once per
/// connection rather than once per request.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub ip: IpAddr,
    /// Came through a private listener or from a private CIDR: may reach
    /// PRIVATE APIs.
    pub private: bool,
    /// Came over TLS: `X-Forwarded-Proto: https`, `aws:SecureTransport`.
    pub secure: bool,
    /// `ip` as a header value, for X-Forwarded-For.
    pub ip_header: HeaderValue,
}

impl ClientInfo {
    pub fn new(ip: IpAddr, private: bool, secure: bool) -> Self {
        let ip_header =
            HeaderValue::from_str(&ip.to_string()).expect("an IP is a valid header value");
        Self {
            ip,
            private,
            secure,
            ip_header,
        }
    }

    /// The scheme the client used: `https` or `http`.
    pub fn scheme(&self) -> &'static str {
        if self.secure { "https" } else { "http" }
    }
}

/// Appends the client to `X-Forwarded-For` and sets `X-Forwarded-Proto` to
/// the scheme it used.
pub fn add_forwarded(headers: &mut HeaderMap, client: &ClientInfo) {
    match headers.get(X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(prior) => {
            if let Ok(value) = HeaderValue::from_str(&format!("{prior}, {}", client.ip)) {
                headers.insert(X_FORWARDED_FOR, value);
            }
        }
        None => {
            headers.insert(X_FORWARDED_FOR, client.ip_header.clone());
        }
    }
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(client.scheme()));
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn appends_to_forwarded_for() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        let client = ClientInfo::new("127.0.0.1".parse().unwrap(), false, false);
        add_forwarded(&mut h, &client);
        assert_eq!(h["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
        assert_eq!(h["x-forwarded-proto"], "http");
        let mut fresh = HeaderMap::new();
        let secure = ClientInfo::new("127.0.0.1".parse().unwrap(), false, true);
        add_forwarded(&mut fresh, &secure);
        assert_eq!(fresh["x-forwarded-for"], "127.0.0.1");
        assert_eq!(fresh["x-forwarded-proto"], "https");
    }
}
