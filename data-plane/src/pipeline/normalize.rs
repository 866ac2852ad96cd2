//! Stage: one reading of the request's path and host, which routing, every
//! policy check (method ARNs for IAM, resource and authorizer policies),
//! the authorizer event and the backend URI all use.
//!
//! If the router, the policies and the backend each read a path their own
//! way, a request can be routed to `/admin` while the policy sees
//! `//admin` or `public/../admin` and lets it through. So:
//! - empty segments (`//`) and a trailing `/` are dropped, as the router
//!   ignores them anyway;
//! - percent-encoded unreserved characters (`%61` → `a`) are decoded, as
//!   every backend would;
//! - `.` and `..` segments (also as `%2E`), and encoded `/` or `\`, are
//!   refused with 400: no reading of them is safe to agree on.
//!
//! And the host must be one: a request whose authority (absolute-form
//! HTTP/1.1 or HTTP/2's `:authority`) and `Host` header differ is refused,
//! so a signature over one host cannot be replayed against another.

use super::gateway_response::GatewayResponse;
use std::borrow::Cow;

/// The canonical path, borrowed when the request's is canonical already
/// (the common case: no allocation).
pub fn canonical_path(raw: &str) -> Result<Cow<'_, str>, GatewayResponse> {
    if is_canonical(raw) {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out = String::with_capacity(raw.len());
    for segment in raw.split('/').filter(|s| !s.is_empty()) {
        let segment = decode_unreserved(segment)?;
        if segment == "." || segment == ".." {
            return Err(GatewayResponse::BadRequest);
        }
        out.push('/');
        out.push_str(&segment);
    }
    if out.is_empty() {
        out.push('/');
    }
    Ok(Cow::Owned(out))
}

/// No empty, `.` or `..` segment, no trailing `/` (but for the root), no
/// `%`.
fn is_canonical(path: &str) -> bool {
    if path == "/" {
        return true;
    }
    path.starts_with('/')
        && !path.ends_with('/')
        && !path.contains('%')
        && path[1..]
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
}

/// Decodes `%XX` escapes of unreserved characters (RFC 3986: letters,
/// digits, `-._~`); keeps other escapes as they are, but refuses an
/// encoded `/` or `\`, and a malformed escape.
fn decode_unreserved(segment: &str) -> Result<Cow<'_, str>, GatewayResponse> {
    if !segment.contains('%') {
        return Ok(Cow::Borrowed(segment));
    }
    let bytes = segment.as_bytes();
    let mut out = String::with_capacity(segment.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            let next = segment[i..]
                .find('%')
                .map_or(segment.len(), |offset| i + offset);
            out.push_str(&segment[i..next]);
            i = next;
            continue;
        }
        let hex = segment
            .get(i + 1..i + 3)
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or(GatewayResponse::BadRequest)?;
        let byte = u8::from_str_radix(hex, 16).map_err(|_| GatewayResponse::BadRequest)?;
        match byte {
            b'/' | b'\\' => return Err(GatewayResponse::BadRequest),
            b if b.is_ascii_alphanumeric() || b"-._~".contains(&b) => out.push(b as char),
            _ => {
                // Reserved or non-ASCII: keep the escape, in upper case.
                out.push('%');
                out.push_str(&hex.to_ascii_uppercase());
            }
        }
        i += 3;
    }
    Ok(Cow::Owned(out))
}

/// The host the request is for: its authority, or its `Host` header; both
/// present and different is a 400.
pub fn request_host(parts: &http::request::Parts) -> Result<Option<&str>, GatewayResponse> {
    let header = parts
        .headers
        .get(http::header::HOST)
        .map(|v| v.to_str().map_err(|_| GatewayResponse::BadRequest))
        .transpose()?;
    match (parts.uri.authority().map(|a| a.as_str()), header) {
        (Some(authority), Some(host)) if !authority.eq_ignore_ascii_case(host) => {
            Err(GatewayResponse::BadRequest)
        }
        (Some(authority), _) => Ok(Some(authority)),
        (None, host) => Ok(host),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(path: &str) -> Result<String, GatewayResponse> {
        canonical_path(path).map(Cow::into_owned)
    }

    #[test]
    fn canonical_paths_are_borrowed() {
        for path in ["/", "/prod", "/prod/pets/7", "/prod/a-b_c~d.e"] {
            assert!(
                matches!(canonical_path(path), Ok(Cow::Borrowed(_))),
                "{path}"
            );
        }
    }

    #[test]
    fn empty_segments_and_trailing_slashes_go() {
        assert_eq!(canon("/prod//admin").unwrap(), "/prod/admin");
        assert_eq!(canon("/prod/admin/").unwrap(), "/prod/admin");
        assert_eq!(canon("//prod///x//").unwrap(), "/prod/x");
        assert_eq!(canon("//").unwrap(), "/");
    }

    #[test]
    fn unreserved_escapes_are_decoded_others_kept() {
        assert_eq!(canon("/prod/%61dmin").unwrap(), "/prod/admin");
        assert_eq!(canon("/prod/a%7e%2D").unwrap(), "/prod/a~-");
        assert_eq!(
            canon("/prod/a%20b/caf%c3%a9").unwrap(),
            "/prod/a%20b/caf%C3%A9"
        );
        assert_eq!(canon("/prod/q%3Fx").unwrap(), "/prod/q%3Fx");
    }

    #[test]
    fn dot_segments_encoded_slashes_and_bad_escapes_are_refused() {
        for path in [
            "/prod/public/../admin",
            "/prod/./admin",
            "/prod/..",
            "/prod/%2e%2e/admin",
            "/prod/%2E/x",
            "/prod/a%2Fb",
            "/prod/a%5cb",
            "/prod/a%zz",
            "/prod/a%2",
        ] {
            assert_eq!(canon(path), Err(GatewayResponse::BadRequest), "{path}");
        }
    }

    #[test]
    fn one_host_per_request() {
        let parts = |uri: &str, host: Option<&str>| {
            let mut builder = http::Request::builder().uri(uri);
            if let Some(host) = host {
                builder = builder.header("host", host);
            }
            builder.body(()).unwrap().into_parts().0
        };
        assert_eq!(request_host(&parts("/x", Some("a.d"))), Ok(Some("a.d")));
        assert_eq!(request_host(&parts("http://a.d/x", None)), Ok(Some("a.d")));
        assert_eq!(
            request_host(&parts("http://a.d/x", Some("A.D"))),
            Ok(Some("a.d"))
        );
        assert_eq!(
            request_host(&parts("http://a.d/x", Some("b.d"))),
            Err(GatewayResponse::BadRequest)
        );
        assert_eq!(request_host(&parts("/x", None)), Ok(None));
    }
}
