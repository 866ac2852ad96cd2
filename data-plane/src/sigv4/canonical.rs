//! Builds the SigV4 canonical request from the request *as received*.
//!
//! Every piece is derived from what came over the wire rather than from a
//! re-serialised form of it, because the client signed what it sent: the
//! raw percent-encoded path, the raw query string, and exactly the headers
//! it named in `SignedHeaders`, in the order it named them.
//!
//! The rules are the non-S3 ones (API Gateway's service, `execute-api`, is
//! not S3):
//! - the path is normalised (`.`/`..` resolved, empty segments dropped) and
//!   then every segment is URI-encoded *again*, so `%3D` on the wire becomes
//!   `%253D` ("double encoding" — the SDKs encode the already-encoded path);
//! - each query name and value is decoded and re-encoded with only the
//!   RFC 3986 unreserved characters left bare, and the pairs are sorted by
//!   encoded name, then encoded value;
//! - the raw query has two readings ([`QueryReading`]): API Gateway's own
//!   (and aws-sigv4's, the Go and Java SDKs') decodes it, `+` as a space,
//!   and re-encodes it; botocore and awscurl, given a URL with a query
//!   already in it, sign the query exactly as sent (split and sorted, not
//!   re-encoded: `a=b+c` stays `a=b+c`, `%7e` stays `%7e`). The verifier
//!   tries both. The second adds no new way to change a signed request: the
//!   only other spelling it accepts for a query is the query's canonical
//!   form, which the first reading already treats as the same query. A
//!   third reading, `+` as a literal plus (`%2B`), is deliberately not
//!   tried: it would let a signed `%2B` (what every SDK sends for a plus)
//!   be replayed as `+`, which form decoders read as a space;
//! - header values are trimmed and inner runs of spaces collapsed, and
//!   repeated headers are joined with `,` in arrival order.

use std::borrow::Cow;

use crate::uri_encode::UNRESERVED;
use http::HeaderMap;
use percent_encoding::percent_encode;
use smallvec::SmallVec;

/// The query parameter that carries a presigned request's signature and so
/// cannot be part of what it signs.
pub(super) const SIGNATURE_PARAM: &str = "X-Amz-Signature";

/// Appends the canonical URI for a raw (percent-encoded) request path.
///
/// Normalisation follows RFC 3986 dot-segment removal plus the SDKs'
/// collapsing of empty segments: `//a//b/./c/..` becomes `/a/b/`. A
/// trailing slash survives, and a final `.` or `..` leaves one, as in
/// RFC 3986 (`/a/b/..` is `/a/`).
pub(super) fn write_uri(out: &mut Vec<u8>, path: &str) {
    let mut segments: SmallVec<[&str; 16]> = SmallVec::new();
    let mut last = "";
    for segment in path.split('/') {
        last = segment;
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    out.push(b'/');
    for (i, segment) in segments.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        extend_encoded(out, segment.as_bytes());
    }
    let trailing = matches!(last, "" | "." | "..");
    if trailing && !segments.is_empty() {
        out.push(b'/');
    }
}

/// How the raw query is read into the canonical query string; see the
/// module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum QueryReading {
    /// Decoded (`+` is a space) and re-encoded: API Gateway's reading.
    PlusIsSpace,
    /// Split and sorted but neither decoded nor re-encoded: what botocore
    /// and awscurl sign for a URL that already holds its query.
    AsSent,
}

impl QueryReading {
    /// Every reading, API Gateway's first.
    pub(super) const ALL: [QueryReading; 2] = [QueryReading::PlusIsSpace, QueryReading::AsSent];

    /// Whether this reading can differ from [`QueryReading::PlusIsSpace`]
    /// for `query`: the as-sent one only when the query is not canonical
    /// already. Lets the verifier skip a reading that would hash the same
    /// bytes again.
    pub(super) fn may_differ(self, query: &str) -> bool {
        match self {
            QueryReading::PlusIsSpace => true,
            QueryReading::AsSent => !query.split('&').all(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                !pair.is_empty() && is_canonical(name.as_bytes()) && is_canonical(value.as_bytes())
            }),
        }
    }
}

/// Appends the canonical query string for a raw query (without the `?`).
///
/// With `drop_signature` (presigned requests) the `X-Amz-Signature`
/// parameter is left out. Empty `&&` pieces are ignored (kept as `=` when
/// read as sent, as botocore keeps them) and a name without `=` gets an
/// empty value, as the SDKs do.
pub(super) fn write_query(
    out: &mut Vec<u8>,
    query: &str,
    drop_signature: bool,
    reading: QueryReading,
) {
    let mut params: SmallVec<[(Cow<'_, str>, Cow<'_, str>); 16]> = SmallVec::new();
    for pair in query.split('&') {
        if pair.is_empty() && reading != QueryReading::AsSent {
            continue;
        }
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (name, value) = match reading {
            QueryReading::PlusIsSpace => (canonical_component(name), canonical_component(value)),
            QueryReading::AsSent => (Cow::Borrowed(name), Cow::Borrowed(value)),
        };
        if drop_signature && name == SIGNATURE_PARAM {
            continue;
        }
        params.push((name, value));
    }
    params.sort_unstable();
    for (i, (name, value)) in params.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        out.extend_from_slice(name.as_bytes());
        out.push(b'=');
        out.extend_from_slice(value.as_bytes());
    }
}

/// Appends one `name:value\n` line per entry of `signed_headers` (a
/// `;`-separated list, used verbatim) and returns whether every named
/// header was found.
///
/// `host` falls back to `authority` because an HTTP/2 request carries it in
/// the `:authority` pseudo-header, which never reaches the `HeaderMap`. A
/// named header the request lacks contributes an empty value, which simply
/// makes the signature not match.
pub(super) fn write_headers(
    out: &mut Vec<u8>,
    headers: &HeaderMap,
    authority: Option<&str>,
    signed_headers: &str,
) {
    for name in signed_headers.split(';') {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        let mut found = false;
        for value in headers.get_all(name) {
            if found {
                out.push(b',');
            }
            found = true;
            extend_trimmed(out, value.as_bytes());
        }
        if !found
            && name.eq_ignore_ascii_case("host")
            && let Some(authority) = authority
        {
            extend_trimmed(out, authority.as_bytes());
        }
        out.push(b'\n');
    }
}

/// The canonical form of one query name or value: decoded, then encoded
/// with only unreserved characters bare. Borrows when the raw text already
/// is canonical, which is the common case (plain words, or an SDK-encoded
/// value like `AKID%2F20150830%2F...`), so typical queries allocate nothing.
pub(super) fn canonical_component(raw: &str) -> Cow<'_, str> {
    if is_canonical(raw.as_bytes()) {
        return Cow::Borrowed(raw);
    }
    let decoded = decode(raw);
    Cow::Owned(percent_encode(&decoded, UNRESERVED).to_string())
}

/// Decodes a query name or value: `%XX` escapes and `+` for space (the
/// `application/x-www-form-urlencoded` reading the SDKs use when they
/// canonicalise a query). A `%` not followed by two hex digits stays a
/// literal `%`. The result may be any bytes, not necessarily UTF-8.
pub(super) fn decode(raw: &str) -> Cow<'_, [u8]> {
    let b = raw.as_bytes();
    if !b.iter().any(|&c| c == b'%' || c == b'+') {
        return Cow::Borrowed(b);
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    Cow::Owned(out)
}

/// Whether `b` is already in canonical form: only unreserved bytes and
/// `%XX` escapes in uppercase hex of bytes that must stay escaped.
fn is_canonical(b: &[u8]) -> bool {
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            let (Some(&h), Some(&l)) = (b.get(i + 1), b.get(i + 2)) else {
                return false;
            };
            if !(is_upper_hex(h) && is_upper_hex(l)) {
                return false;
            }
            let byte = hex(h).unwrap_or(0) << 4 | hex(l).unwrap_or(0);
            if is_unreserved(byte) {
                return false;
            }
            i += 3;
        } else if is_unreserved(c) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

fn is_unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~')
}

fn is_upper_hex(c: u8) -> bool {
    c.is_ascii_digit() || (b'A'..=b'F').contains(&c)
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn extend_encoded(out: &mut Vec<u8>, bytes: &[u8]) {
    for chunk in percent_encode(bytes, UNRESERVED) {
        out.extend_from_slice(chunk.as_bytes());
    }
}

/// Appends a header value with leading and trailing whitespace removed and
/// each inner run of spaces collapsed to one.
fn extend_trimmed(out: &mut Vec<u8>, value: &[u8]) {
    let is_ws = |c: &u8| *c == b' ' || *c == b'\t';
    let start = value.iter().position(|c| !is_ws(c)).unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|c| !is_ws(c))
        .map_or(start, |e| e + 1);
    // Copy up to and including each space, then skip the rest of its run.
    let mut rest = &value[start..end];
    while let Some(space) = rest.iter().position(|&c| c == b' ') {
        out.extend_from_slice(&rest[..=space]);
        let run = rest[space..].iter().take_while(|&&c| c == b' ').count();
        rest = &rest[space + run..];
    }
    out.extend_from_slice(rest);
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn uri(path: &str) -> String {
        let mut out = Vec::new();
        write_uri(&mut out, path);
        String::from_utf8(out).expect("ascii")
    }

    fn query(q: &str, drop_signature: bool) -> String {
        query_read(q, drop_signature, QueryReading::PlusIsSpace)
    }

    fn query_read(q: &str, drop_signature: bool, reading: QueryReading) -> String {
        let mut out = Vec::new();
        write_query(&mut out, q, drop_signature, reading);
        String::from_utf8(out).expect("ascii")
    }

    #[test]
    fn uri_normalises_then_encodes_again() {
        for (raw, canonical) in [
            ("", "/"),
            ("/", "/"),
            ("//", "/"),
            ("/./", "/"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("/../..", "/"),
            ("//example//", "/example/"),
            ("/./example", "/example"),
            ("/a/b/..", "/a/"),
            ("/a/b/.", "/a/b/"),
            ("/a/./b/../c", "/a/c"),
            ("/dev/a%20b", "/dev/a%2520b"),
            ("/dev/x%2Fy", "/dev/x%252Fy"),
            (
                "/test/@connections/JBDvjfGEIAMCERw%3D",
                "/test/%40connections/JBDvjfGEIAMCERw%253D",
            ),
            ("/example space/", "/example%20space/"),
            ("/\u{1234}", "/%E1%88%B4"),
            ("/-._~AZaz09", "/-._~AZaz09"),
            ("/%2E%2E/a", "/%252E%252E/a"),
        ] {
            assert_eq!(uri(raw), canonical, "{raw:?}");
        }
    }

    #[test]
    fn query_decodes_reencodes_and_sorts() {
        assert_eq!(query("", false), "");
        assert_eq!(query("b=2&a=1", false), "a=1&b=2");
        assert_eq!(query("a=2&a=1&a=", false), "a=&a=1&a=2");
        assert_eq!(query("single&k=&&x=1", false), "k=&single=&x=1");
        assert_eq!(
            query("Param-3=Value3&Param=Value2&%E1%88%B4=Value1", false),
            "%E1%88%B4=Value1&Param=Value2&Param-3=Value3"
        );
        assert_eq!(query("\u{1234}=bar", false), "%E1%88%B4=bar");
        assert_eq!(query("a=x+y%20z%2b", false), "a=x%20y%20z%2B");
        assert_eq!(query("a=%7e%41%2F", false), "a=~A%2F");
        assert_eq!(query("a=100%&b=%zz%4", false), "a=100%25&b=%25zz%254");
        assert_eq!(query("a=b=c", false), "a=b%3Dc");
        assert_eq!(
            query("X-Amz-Signature=abc&X-Amz-Date=1", true),
            "X-Amz-Date=1"
        );
        assert_eq!(
            query("X-Amz-Signature=abc&X-Amz-Date=1", false),
            "X-Amz-Date=1&X-Amz-Signature=abc"
        );
    }

    #[test]
    fn a_query_has_two_readings() {
        let q = "b=x+y&a=b+c%20d%2b";
        assert_eq!(
            query_read(q, false, QueryReading::PlusIsSpace),
            "a=b%20c%20d%2B&b=x%20y"
        );
        // botocore's canonical query for a URL that holds it: as sent, sorted.
        assert_eq!(
            query_read(q, false, QueryReading::AsSent),
            "a=b+c%20d%2b&b=x+y"
        );
        assert_eq!(
            query_read("X-Amz-Signature=s&a=b+c", true, QueryReading::AsSent),
            "a=b+c"
        );
    }

    #[test]
    fn readings_are_tried_only_where_they_can_differ() {
        for r in QueryReading::ALL {
            assert_eq!(
                r.may_differ("a=1&b=AKID%2F2015"),
                r == QueryReading::PlusIsSpace,
                "{r:?}"
            );
        }
        assert!(QueryReading::AsSent.may_differ("a=b+c"));
        assert!(QueryReading::AsSent.may_differ("a=%7e"));
        assert!(QueryReading::AsSent.may_differ("a=b=c"));
        assert!(QueryReading::AsSent.may_differ("a=1&&b=2"));
        assert_eq!(
            query_read("a=1&&b=2", false, QueryReading::AsSent),
            "=&a=1&b=2"
        );
        // Already canonical: every reading gives the same bytes.
        assert!(!QueryReading::AsSent.may_differ("b=1&a=2"));
    }

    #[test]
    fn canonical_component_borrows_when_already_canonical() {
        assert!(matches!(
            canonical_component("AKID%2F20150830"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(
            canonical_component("plain-word_1.~"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(canonical_component("AKID%2f2015"), Cow::Owned(_)));
        assert!(matches!(canonical_component("%41"), Cow::Owned(_)));
        assert_eq!(canonical_component("%41"), "A");
    }

    #[test]
    fn headers_are_trimmed_joined_and_looked_up_case_insensitively() {
        let mut h = HeaderMap::new();
        h.append("my-header1", HeaderValue::from_static("value4"));
        h.append("my-header1", HeaderValue::from_static("  value1   x  "));
        h.insert("my-header2", HeaderValue::from_static("\"a   b\tc\""));
        h.insert("host", HeaderValue::from_static("example.com"));
        let mut out = Vec::new();
        write_headers(
            &mut out,
            &h,
            None,
            "host;My-Header1;my-header2;absent;bad name",
        );
        assert_eq!(
            String::from_utf8(out).expect("ascii"),
            "host:example.com\nMy-Header1:value4,value1 x\nmy-header2:\"a b\tc\"\nabsent:\nbad name:\n"
        );
    }

    #[test]
    fn host_falls_back_to_authority() {
        let mut out = Vec::new();
        write_headers(
            &mut out,
            &HeaderMap::new(),
            Some("api.example:8443"),
            "host",
        );
        assert_eq!(out, b"host:api.example:8443\n");
    }
}
