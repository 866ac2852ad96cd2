//! How request values are written into an outbound URL: one place for
//! the REST `AWS` integrations (`aws/action.rs`), the HTTP API subtypes
//! (`pipeline/aws_service.rs`) and the mapped (non-proxy) HTTP integrations
//! (`pipeline/mapping`), so the backends cannot drift apart.
//!
//! A mapped value is decoded or free text (a percent-decoded path span, a
//! header, a template's `requestOverride.path`): written as it is, `../`,
//! `?` and `#` in it would move the backend path, add query parameters or
//! cut the mapped query off as a fragment.
//!
//! AWS's SDKs write paths and queries with RFC 3986 encoding: the
//! unreserved `A-Za-z0-9-_.~` as they are, every other byte `%XX` (a space
//! is `%20`, never `+`). SigV4's canonical request uses the same encoding,
//! so a query written with form encoding (`+`) is signed for one string and
//! read by the service as another (SignatureDoesNotMatch).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but RFC 3986's unreserved characters: what SigV4's canonical
/// request encodes too (`sigv4::canonical`).
pub(crate) const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// One path segment from a request value. A value that is exactly `.` or
/// `..` is written `%2E` / `%2E%2E`: as it is, it would step out of the
/// path prefix the integration names once the path is normalised (as the
/// signer and many services do), with the integration's credentials.
pub fn path_segment(value: &str) -> String {
    match value {
        "." => "%2E".to_owned(),
        ".." => "%2E%2E".to_owned(),
        _ => utf8_percent_encode(value, UNRESERVED).to_string(),
    }
}

/// `name=value&...`, RFC 3986 encoded, in the order given.
pub fn query<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (name, value) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.extend(utf8_percent_encode(name, UNRESERVED));
        out.push('=');
        out.extend(utf8_percent_encode(value, UNRESERVED));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_space_is_percent_20_never_plus() {
        assert_eq!(
            query([("MessageBody", "hello world+more"), ("a b", "x&y=z~._-")]),
            "MessageBody=hello%20world%2Bmore&a%20b=x%26y%3Dz~._-"
        );
        assert_eq!(query([]), "");
        assert_eq!(query([("k", "é")]), "k=%C3%A9");
    }

    #[test]
    fn dot_segments_cannot_step_out_of_the_prefix() {
        assert_eq!(path_segment(".."), "%2E%2E");
        assert_eq!(path_segment("."), "%2E");
        assert_eq!(path_segment("a..b"), "a..b");
        assert_eq!(path_segment("../x"), "..%2Fx");
        assert_eq!(path_segment("c/1 x"), "c%2F1%20x");
    }
}
