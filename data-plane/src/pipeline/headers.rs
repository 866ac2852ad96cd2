//! Header rules for proxying: the backend learns who the client was
//! (hop-by-hop headers are [`crate::hop_by_hop`]'s).
//!
//! Who the client was is only ever what the gateway saw (the TCP peer), as
//! the last element of each list a backend may read:
//! - `X-Forwarded-For`: the peer is appended to every line the client sent
//!   (joined into one line), as AWS does; a backend must read the last
//!   element, the earlier ones are what the client claimed;
//! - `Forwarded` (RFC 7239): replaced by the gateway's element
//!   (`for=…;proto=…`). Unlike `X-Forwarded-For`, common readers (Spring's
//!   `ForwardedHeaderFilter`) take its *first* element's `for`, `proto` and
//!   `host`, and a client's unbalanced quote could swallow an appended
//!   element, so the client's lines are not kept;
//! - `X-Real-IP` is a single value, not a list: the client's is replaced by
//!   the peer;
//! - `X-Forwarded-Proto` is the scheme the client used, whatever it said.

use http::{HeaderMap, HeaderName, HeaderValue, header};
use std::net::IpAddr;

/// Header fields in one request head, at most (the server's limit, and so
/// what anything re-reading a head must make room for).
pub const MAX_REQUEST_HEADERS: usize = 256;

// Names the pipeline uses on every request, made once: a `&str` name is
// parsed and validated again on each lookup.
pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub const X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
pub const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
pub const X_AMZN_REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");
pub const X_AMZN_ERROR_TYPE: HeaderName = HeaderName::from_static("x-amzn-errortype");
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
    /// `ip` as a header value, for X-Forwarded-For and X-Real-IP.
    pub ip_header: HeaderValue,
    /// The gateway's `Forwarded` element for this client:
    /// `for=192.0.2.1;proto=https`, `for="[2001:db8::1]";proto=http`.
    pub forwarded: HeaderValue,
}

impl ClientInfo {
    pub fn new(ip: IpAddr, private: bool, secure: bool) -> Self {
        let ip_header =
            HeaderValue::from_str(&ip.to_string()).expect("an IP is a valid header value");
        let scheme = if secure { "https" } else { "http" };
        let forwarded = match ip {
            IpAddr::V4(v4) => format!("for={v4};proto={scheme}"),
            IpAddr::V6(v6) => format!("for=\"[{v6}]\";proto={scheme}"),
        };
        let forwarded =
            HeaderValue::from_str(&forwarded).expect("a Forwarded element is a valid header value");
        Self {
            ip,
            private,
            secure,
            ip_header,
            forwarded,
        }
    }

    /// The scheme the client used: `https` or `http`.
    pub fn scheme(&self) -> &'static str {
        if self.secure { "https" } else { "http" }
    }
}

/// Appends the client to `X-Forwarded-For` (after all of the client's
/// lines), sets `Forwarded` to the gateway's element alone, `X-Real-IP` to
/// the client and `X-Forwarded-Proto` to the scheme it used.
pub fn add_forwarded(headers: &mut HeaderMap, client: &ClientInfo) {
    append_to_list(headers, X_FORWARDED_FOR, &client.ip_header);
    headers.insert(header::FORWARDED, client.forwarded.clone());
    headers.insert(X_REAL_IP, client.ip_header.clone());
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(client.scheme()));
}

/// Makes `name` one line: every line the client sent, then `ours`. Most
/// requests carry none, and get `ours` without an allocation.
fn append_to_list(headers: &mut HeaderMap, name: HeaderName, ours: &HeaderValue) {
    let mut entry = match headers.entry(name) {
        header::Entry::Vacant(vacant) => {
            vacant.insert(ours.clone());
            return;
        }
        header::Entry::Occupied(entry) => entry,
    };
    let mut joined = Vec::with_capacity(64);
    for value in entry.iter() {
        let value = value.as_bytes().trim_ascii();
        if value.is_empty() {
            continue;
        }
        joined.extend_from_slice(value);
        joined.extend_from_slice(b", ");
    }
    joined.extend_from_slice(ours.as_bytes());
    // Every part was a valid value, and so is the whole.
    let value =
        HeaderValue::from_maybe_shared(bytes::Bytes::from(joined)).unwrap_or_else(|_| ours.clone());
    entry.insert(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(ip: &str, secure: bool) -> ClientInfo {
        ClientInfo::new(ip.parse().unwrap(), false, secure)
    }

    #[test]
    fn appends_to_forwarded_for() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        add_forwarded(&mut h, &client("127.0.0.1", false));
        assert_eq!(h["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
        assert_eq!(h["x-forwarded-proto"], "http");
        let mut fresh = HeaderMap::new();
        add_forwarded(&mut fresh, &client("127.0.0.1", true));
        assert_eq!(fresh["x-forwarded-for"], "127.0.0.1");
        assert_eq!(fresh["x-forwarded-proto"], "https");
        assert_eq!(fresh["x-real-ip"], "127.0.0.1");
        assert_eq!(fresh["forwarded"], "for=127.0.0.1;proto=https");
    }

    #[test]
    fn forwarded_for_appends_to_every_line_the_client_sent() {
        let mut h = HeaderMap::new();
        h.append("x-forwarded-for", HeaderValue::from_static("1.1.1.1"));
        h.append(
            "x-forwarded-for",
            HeaderValue::from_static("2.2.2.2, 3.3.3.3"),
        );
        h.append("x-forwarded-for", HeaderValue::from_static(" "));
        add_forwarded(&mut h, &client("127.0.0.1", false));
        let lines: Vec<_> = h.get_all("x-forwarded-for").iter().collect();
        assert_eq!(lines, ["1.1.1.1, 2.2.2.2, 3.3.3.3, 127.0.0.1"]);
    }

    #[test]
    fn forwarded_is_the_gateways_element_alone() {
        let mut h = HeaderMap::new();
        h.append(
            "forwarded",
            HeaderValue::from_static("for=6.6.6.6;proto=https"),
        );
        h.append("forwarded", HeaderValue::from_static("for=7.7.7.7"));
        add_forwarded(&mut h, &client("::1", false));
        let lines: Vec<_> = h.get_all("forwarded").iter().collect();
        assert_eq!(lines, [r#"for="[::1]";proto=http"#]);
        // An unbalanced quote cannot swallow the gateway's element.
        let mut h = HeaderMap::new();
        h.append("forwarded", HeaderValue::from_static(r#"for="x"#));
        add_forwarded(&mut h, &client("127.0.0.1", false));
        assert_eq!(h["forwarded"], "for=127.0.0.1;proto=http");
    }

    #[test]
    fn the_clients_real_ip_and_proto_are_replaced() {
        let mut h = HeaderMap::new();
        h.append("x-real-ip", HeaderValue::from_static("6.6.6.6"));
        h.append("x-real-ip", HeaderValue::from_static("7.7.7.7"));
        h.append("x-forwarded-proto", HeaderValue::from_static("https"));
        add_forwarded(&mut h, &client("127.0.0.1", false));
        let real: Vec<_> = h.get_all("x-real-ip").iter().collect();
        assert_eq!(real, ["127.0.0.1"]);
        let proto: Vec<_> = h.get_all("x-forwarded-proto").iter().collect();
        assert_eq!(proto, ["http"]);
    }
}
