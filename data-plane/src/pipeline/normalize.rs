//! Stage: one reading of the request's target and host, which routing,
//! every policy check (method ARNs for IAM, resource and authorizer
//! policies), the authorizer event and the backend URI all use.
//!
//! Threat model. If the router, the policies and the backend each read a
//! path their own way, a request can be routed to (or served as) `/admin`
//! while a policy that denies `/admin` sees something else and lets it
//! through. Backends disagree widely: Tomcat and Spring drop `;params`
//! from a segment (`/admin;jsessionid=x` is `/admin`), and some decode
//! `%3B` before doing so; IIS and Windows drop trailing dots and spaces
//! (`/admin.`, `/admin%20`) and ignore case; some decode twice (`%2561`);
//! some treat `\` as `/`; raw non-ASCII bytes are read as UTF-8, Latin-1 or
//! refused. So the gateway either gives a spelling one canonical form that
//! every backend reads the same way, or refuses it with 400:
//! - empty segments (`//`) and a trailing `/` are dropped, as the router
//!   ignores them anyway;
//! - percent-encoded characters that may stand raw in a path (`%61` → `a`,
//!   `%3A` → `:`, `%40` → `@`, `%2B` → `+`, the other sub-delimiters) are
//!   decoded, as every backend would; other escapes are kept, in upper
//!   case;
//! - the few printable characters RFC 3986 does not allow in a path but
//!   HTTP parsers let through (`"`, `{`, `}`, `|`, `^`, `[`, `]`) are
//!   percent-encoded, as a browser would;
//! - refused (400): a raw `;` or `\`; raw bytes >= 0x80 (send UTF-8
//!   percent-encoded); encoded `/`, `\`, `;` or `%` (double decoding);
//!   encoded control characters (`%00`-`%1F`, `%7F`); encoded bytes that
//!   are not UTF-8 (`%C0%AE`, an overlong `.`); encoded `?` and `#`
//!   (`%3F`, `%23`), which end the path for a backend that decodes first;
//!   `.` and `..` segments (also as `%2E`); a segment that ends in `.` or
//!   in an encoded space (`%20`), which Windows backends strip.
//!
//! Letter case is not folded here (most backends are case-sensitive, and
//! the backend gets the path as it came), nor a file extension cut off; a
//! `Deny` statement matches paths ASCII case-insensitively, and with or
//! without the extension of their last segment, instead (see
//! `archway_proto::policy`).
//!
//! The query string is passed on as it came, except that raw bytes >= 0x80
//! are refused there too: they are not a valid URI, and would otherwise
//! fail only when the backend URI is built.
//!
//! And the host must be one: two `Host` headers (equal or not), or an
//! authority (absolute-form HTTP/1.1 or HTTP/2's `:authority`) other than
//! the `Host` header, are refused, so a signature over one host cannot be
//! replayed against another and no two components read different hosts.

use super::context::Context;
use super::gateway_response::GatewayResponse;
use std::borrow::Cow;

const BAD: GatewayResponse = GatewayResponse::MalformedRequest;

/// Bytes that stand for themselves in a canonical path (RFC 3986 `pchar`
/// without `%` and `;`, plus `/`).
const PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b'='
                    | b':'
                    | b'@'
                    | b'/'
            );
        i += 1;
    }
    t
};

/// Phase: admit the request's head. A declared body length over the
/// payload limit is refused before anything is read; the path gets its one
/// canonical form (kept in the context for every later phase), and the
/// query is checked.
pub fn admit(cx: &mut Context<'_>) -> Result<(), GatewayResponse> {
    check_declared_length(&cx.head.headers, cx.max_payload)?;
    // A copy only when normalization rewrote the path.
    let normalized = match canonical_path(cx.head.uri.path())? {
        Cow::Borrowed(_) => None,
        Cow::Owned(path) => Some(path),
    };
    check_query(cx.head.uri.query())?;
    cx.set_normalized_path(normalized);
    Ok(())
}

/// Refuses a body whose declared length is over the limit before reading it.
fn check_declared_length(headers: &http::HeaderMap, max: usize) -> Result<(), GatewayResponse> {
    let Some(value) = headers.get(http::header::CONTENT_LENGTH) else {
        return Ok(());
    };
    let length: u64 = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .ok_or(GatewayResponse::BadRequest)?;
    if length > max as u64 {
        return Err(GatewayResponse::RequestTooLarge);
    }
    Ok(())
}

/// The canonical path, borrowed when the request's is canonical already
/// (the common case: one pass over the bytes, no allocation).
pub fn canonical_path(raw: &str) -> Result<Cow<'_, str>, GatewayResponse> {
    if is_canonical(raw) {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out = String::with_capacity(raw.len() + 8);
    for segment in raw.split('/').filter(|s| !s.is_empty()) {
        let start = out.len() + 1;
        out.push('/');
        push_segment(&mut out, segment.as_bytes())?;
        // `.`, `..`, `admin.` (also spelled `%2E`), and `admin%20`.
        let written = &out[start..];
        if written.ends_with('.') || written.ends_with("%20") {
            return Err(BAD);
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    Ok(Cow::Owned(out))
}

/// Starts with `/`, holds only [`PLAIN`] bytes, and has no empty segment
/// and no segment ending in `.` (so no `.` or `..` either); no trailing
/// `/` but for the root.
fn is_canonical(path: &str) -> bool {
    let bytes = path.as_bytes();
    if bytes == b"/" {
        return true;
    }
    if bytes.first() != Some(&b'/') {
        return false;
    }
    let mut prev = b'/';
    for &b in &bytes[1..] {
        if !PLAIN[usize::from(b)] || (b == b'/' && (prev == b'/' || prev == b'.')) {
            return false;
        }
        prev = b;
    }
    prev != b'/' && prev != b'.'
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// The byte a `%XX` at `at` stands for.
fn escaped(bytes: &[u8], at: usize) -> Result<u8, GatewayResponse> {
    match (bytes.get(at), bytes.get(at + 1), bytes.get(at + 2)) {
        (Some(b'%'), Some(&hi), Some(&lo)) => {
            Ok(hex_value(hi).ok_or(BAD)? << 4 | hex_value(lo).ok_or(BAD)?)
        }
        _ => Err(BAD),
    }
}

fn push_escape(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(HEX[usize::from(byte >> 4)] as char);
    out.push(HEX[usize::from(byte & 0xF)] as char);
}

/// Appends one segment (without `/`) in canonical form, or refuses it.
fn push_segment(out: &mut String, bytes: &[u8]) -> Result<(), GatewayResponse> {
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if PLAIN[usize::from(b)] {
            out.push(b as char);
            i += 1;
            continue;
        }
        if b != b'%' {
            match b {
                // Printable, but not allowed in a path: encoded, as a
                // browser would.
                b'"' | b'{' | b'}' | b'|' | b'^' | b'[' | b']' | b'`' | b'<' | b'>' => {
                    push_escape(out, b);
                    i += 1;
                    continue;
                }
                // `;`, `\`, raw non-ASCII, controls, space.
                _ => return Err(BAD),
            }
        }
        let byte = escaped(bytes, i)?;
        i += 3;
        match byte {
            // `?` and `#` end a path for a backend that decodes first
            // (nginx's `$uri`): `/admin%3F` would be served as `/admin`.
            b'/' | b'\\' | b';' | b'%' | b'?' | b'#' | 0x00..=0x1F | 0x7F => return Err(BAD),
            // Unreserved characters and the sub-delimiters, `:` and `@`
            // stand for themselves in a path: decoded, as every backend
            // decodes them (`items%3Apurge` is `items:purge`).
            b if PLAIN[usize::from(b)] => out.push(b as char),
            0x80..=0xFF => {
                // A run of escapes must spell UTF-8, one character at a
                // time: overlong forms (`%C0%AE` for `.`) and stray
                // continuation bytes are refused.
                let width = match byte {
                    0xC2..=0xDF => 2,
                    0xE0..=0xEF => 3,
                    0xF0..=0xF4 => 4,
                    _ => return Err(BAD),
                };
                let mut char_bytes = [byte, 0, 0, 0];
                for slot in char_bytes.iter_mut().take(width).skip(1) {
                    *slot = escaped(bytes, i)?;
                    i += 3;
                }
                if std::str::from_utf8(&char_bytes[..width]).is_err() {
                    return Err(BAD);
                }
                for &c in &char_bytes[..width] {
                    push_escape(out, c);
                }
            }
            // Reserved ASCII: kept escaped.
            other => push_escape(out, other),
        }
    }
    Ok(())
}

/// Refuses a query string with raw bytes >= 0x80; everything else in it
/// is passed on as it came.
pub fn check_query(query: Option<&str>) -> Result<(), GatewayResponse> {
    match query {
        Some(q) if !q.is_ascii() => Err(BAD),
        _ => Ok(()),
    }
}

/// The host the request is for: its authority, or its `Host` header. Two
/// `Host` headers, or an authority and a `Host` header that differ, are a
/// 400.
pub fn request_host(parts: &http::request::Parts) -> Result<Option<&str>, GatewayResponse> {
    let mut hosts = parts.headers.get_all(http::header::HOST).iter();
    let header = hosts
        .next()
        .map(|v| v.to_str().map_err(|_| BAD))
        .transpose()?;
    if hosts.next().is_some() {
        return Err(BAD);
    }
    match (parts.uri.authority().map(|a| a.as_str()), header) {
        (Some(authority), Some(host)) if !authority.eq_ignore_ascii_case(host) => Err(BAD),
        (Some(authority), _) => Ok(Some(authority)),
        (None, host) => Ok(host),
    }
}

/// The host name the request was sent to, without a port: what
/// `$context.domainName`, access logs and function events report, the same
/// in each (AWS's domain names carry no port). Empty when the request named
/// none, or named two (which admission refuses before anything reports it).
pub fn domain_name(parts: &http::request::Parts) -> &str {
    request_host(parts).ok().flatten().map_or("", strip_port)
}

/// A `host[:port]` without the port. An IPv6 literal is kept whole: it never
/// names an API, so it must fail to match one.
pub fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host;
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

/// The protocol as AWS writes it in `$context.protocol` and events.
pub fn protocol_name(version: http::Version) -> &'static str {
    match version {
        http::Version::HTTP_2 => "HTTP/2.0",
        http::Version::HTTP_10 => "HTTP/1.0",
        _ => "HTTP/1.1",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phase_reports_one_domain_name() {
        let parts = |uri: &str, host: Option<&str>| {
            let mut b = http::Request::get(uri);
            if let Some(h) = host {
                b = b.header(http::header::HOST, h);
            }
            b.body(()).unwrap().into_parts().0
        };
        // HTTP/1: the Host header, without its port.
        assert_eq!(
            domain_name(&parts("/prod", Some("a.x.localhost:8080"))),
            "a.x.localhost"
        );
        // HTTP/2: the authority, also when a Host header repeats it.
        assert_eq!(
            domain_name(&parts("http://a.x.localhost:8080/prod", None)),
            "a.x.localhost"
        );
        assert_eq!(
            domain_name(&parts("http://a.x.localhost/prod", Some("a.x.localhost"))),
            "a.x.localhost"
        );
        // Disagreeing or absent: nothing is reported.
        assert_eq!(domain_name(&parts("http://a.x/prod", Some("b.x"))), "");
        assert_eq!(domain_name(&parts("/prod", None)), "");
        assert_eq!(domain_name(&parts("/prod", Some("[::1]:80"))), "[::1]:80");
    }

    fn canon(path: &str) -> Result<String, GatewayResponse> {
        canonical_path(path).map(Cow::into_owned)
    }

    #[test]
    fn canonical_paths_are_borrowed() {
        for path in [
            "/",
            "/prod",
            "/prod/pets/7",
            "/prod/a-b_c~d.e",
            "/prod/a:b@c!$&'()*+,=",
            "/prod/a..b",
        ] {
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
        assert_eq!(canon("/prod/items%3Apurge").unwrap(), "/prod/items:purge");
        assert_eq!(
            canon("/prod/%40%21%24%26%27%28%29%2A%2B%2C%3D").unwrap(),
            "/prod/@!$&'()*+,="
        );
        assert_eq!(canon("/prod/a%22b").unwrap(), "/prod/a%22b");
    }

    #[test]
    fn encoded_query_and_fragment_marks_are_refused() {
        for path in [
            "/prod/admin%3F",
            "/prod/admin%3f.x",
            "/prod/admin%23",
            "/prod/a%23b",
        ] {
            assert!(canonical_path(path).is_err(), "{path}");
        }
    }

    #[test]
    fn printable_characters_outside_rfc_3986_are_encoded() {
        assert_eq!(
            canon(r#"/prod/{"a"}|^[b]"#).unwrap(),
            "/prod/%7B%22a%22%7D%7C%5E%5Bb%5D"
        );
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
            "/prod/a%",
        ] {
            assert_eq!(canon(path), Err(BAD), "{path}");
        }
    }

    #[test]
    fn raw_semicolons_backslashes_and_non_ascii_are_refused() {
        for path in [
            "/prod/admin;jsessionid=x",
            "/prod/admin;",
            "/prod/admin;/x",
            "/prod/;/admin",
            "/prod\\admin",
            "/prod/admin\\",
            "/prod/café",
            "/prod/\u{0430}dmin",
        ] {
            assert_eq!(canon(path), Err(BAD), "{path}");
        }
    }

    #[test]
    fn encoded_semicolons_percents_and_controls_are_refused() {
        for path in [
            "/prod/admin%3Bx",
            "/prod/admin%3b",
            "/prod/%2561dmin",
            "/prod/admin%00",
            "/prod/adm%00in",
            "/prod/admin%09",
            "/prod/admin%0d%0a",
            "/prod/admin%1F",
            "/prod/admin%7f",
        ] {
            assert_eq!(canon(path), Err(BAD), "{path}");
        }
    }

    #[test]
    fn trailing_dots_and_spaces_that_windows_strips_are_refused() {
        for path in [
            "/prod/admin.",
            "/prod/admin..",
            "/prod/admin%2e",
            "/prod/admin%2E/",
            "/prod/admin%20",
            "/prod/admin%20/",
            "/prod/admin.%20",
            "/prod/admin%20./x",
            "/prod/admin./x",
        ] {
            assert_eq!(canon(path), Err(BAD), "{path}");
        }
        // Inside a segment they are ordinary characters.
        assert_eq!(canon("/prod/a.b%20c").unwrap(), "/prod/a.b%20c");
    }

    #[test]
    fn encoded_non_ascii_must_be_utf_8() {
        assert_eq!(canon("/prod/%e2%82%ac").unwrap(), "/prod/%E2%82%AC");
        assert_eq!(canon("/prod/%F0%9F%98%80x").unwrap(), "/prod/%F0%9F%98%80x");
        for path in [
            "/prod/%C0%AE",
            "/prod/%c0%ae%c0%ae/admin",
            "/prod/%E0%80%AE",
            "/prod/%80",
            "/prod/%C3",
            "/prod/%C3x",
            "/prod/%ED%A0%80",
            "/prod/%F8%88%80%80%80",
            "/prod/%FF",
        ] {
            assert_eq!(canon(path), Err(BAD), "{path}");
        }
    }

    #[test]
    fn queries_with_raw_non_ascii_are_refused() {
        assert_eq!(check_query(None), Ok(()));
        assert_eq!(check_query(Some("a=1&b=%C3%A9;c=\\")), Ok(()));
        assert_eq!(check_query(Some("name=café")), Err(BAD));
    }

    fn parts(uri: &str, hosts: &[&str]) -> http::request::Parts {
        let mut builder = http::Request::builder().uri(uri);
        for host in hosts {
            builder = builder.header("host", *host);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn one_host_per_request() {
        assert_eq!(request_host(&parts("/x", &["a.d"])), Ok(Some("a.d")));
        assert_eq!(request_host(&parts("http://a.d/x", &[])), Ok(Some("a.d")));
        assert_eq!(
            request_host(&parts("http://a.d/x", &["A.D"])),
            Ok(Some("a.d"))
        );
        assert_eq!(request_host(&parts("http://a.d/x", &["b.d"])), Err(BAD));
        assert_eq!(request_host(&parts("/x", &[])), Ok(None));
    }

    #[test]
    fn two_host_headers_are_refused_equal_or_not() {
        assert_eq!(request_host(&parts("/x", &["a.d", "a.d"])), Err(BAD));
        assert_eq!(request_host(&parts("/x", &["a.d", "b.d"])), Err(BAD));
        assert_eq!(
            request_host(&parts("http://a.d/x", &["a.d", "a.d"])),
            Err(BAD)
        );
    }

    mod properties {
        use super::*;
        use archway_proto::policy::{
            Decision, MethodArn, Policy, PolicyKind, RequestContext, Resource,
        };
        use proptest::prelude::*;

        /// Path-ish text: the characters that matter, in any order.
        fn path_text() -> impl Strategy<Value = String> {
            let piece = prop_oneof![
                Just("/".to_owned()),
                Just(".".to_owned()),
                Just("..".to_owned()),
                Just(";".to_owned()),
                Just("\\".to_owned()),
                Just("%".to_owned()),
                "[a-zA-Z0-9~_-]{1,4}",
                "[!$&'()*+,=:@\"{}|^]",
                "%[0-9a-fA-F]{2}",
                "%[0-9a-fA-F]",
                "(%[cCdDeEfF][0-9a-fA-F])(%[89aAbB][0-9a-fA-F]){1,3}",
                Just("é".to_owned()),
            ];
            prop::collection::vec(piece, 0..12).prop_map(|v| format!("/{}", v.concat()))
        }

        /// Whether `text` has a `%XX` for an unreserved character, or a
        /// `%` not followed by two upper-case hex digits.
        fn has_bad_escape(text: &str) -> bool {
            let b = text.as_bytes();
            b.iter().enumerate().any(|(i, &c)| {
                c == b'%'
                    && match (b.get(i + 1), b.get(i + 2)) {
                        (Some(&h), Some(&l))
                            if h.is_ascii_hexdigit()
                                && l.is_ascii_hexdigit()
                                && !h.is_ascii_lowercase()
                                && !l.is_ascii_lowercase() =>
                        {
                            let v = hex_value(h).unwrap() << 4 | hex_value(l).unwrap();
                            PLAIN[usize::from(v)] && v != b'/' || v < 0x20 || v == 0x7F
                        }
                        _ => true,
                    }
            })
        }

        fn deny_admin() -> Policy {
            let json = r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke",
                 "Resource":"arn:aws:execute-api:*:*:api/*"},
                {"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke",
                 "Resource":"arn:aws:execute-api:*:*:api/prod/*/admin"}]}"#;
            Policy::parse(json, PolicyKind::Resource).expect("the test policy parses")
        }

        fn decide(policy: &Policy, canonical: &str) -> Decision {
            let (stage, path) = canonical[1..]
                .split_once('/')
                .unwrap_or((&canonical[1..], ""));
            let ctx = RequestContext {
                action: archway_proto::policy::INVOKE_ACTION,
                resource: Resource::Method(MethodArn {
                    region: "us-east-1",
                    account: "123456789012",
                    api_id: "api",
                    stage,
                    method: "GET",
                    path: Some(path),
                }),
                principal_arn: None,
                principal_account: None,
                username: None,
                source_ip: "127.0.0.1".parse().unwrap(),
                secure_transport: false,
            };
            policy.evaluate(&ctx)
        }

        /// `/prod/admin` as a backend might read it: each letter as itself,
        /// in another case, or percent-encoded; slashes doubled; and a tail
        /// that Tomcat, Spring (suffix patterns: `.json`), IIS or nginx
        /// would drop or ignore.
        fn admin_spelling() -> impl Strategy<Value = String> {
            let letter = |c: char| {
                prop_oneof![
                    Just(c.to_string()),
                    Just(c.to_ascii_uppercase().to_string()),
                    Just(format!("%{:02x}", c as u8)),
                    Just(format!("%{:02X}", c.to_ascii_uppercase() as u8)),
                ]
            };
            let slashes = "/{1,3}";
            let tail = prop_oneof![
                Just(""),
                Just("/"),
                Just(";"),
                Just(";jsessionid=x"),
                Just("%3b"),
                Just("%3Bx=1"),
                Just("."),
                Just(".."),
                Just("%2e"),
                Just("%2E%2E"),
                Just("%20"),
                Just(". "),
                Just("%20."),
                Just("%09"),
                Just("%00"),
                Just("%0a"),
                Just("\\"),
                Just("%5c"),
                Just("%2f"),
                Just("/."),
                Just("/./"),
                Just("%c0%ae"),
                Just("%2500"),
                Just(".json"),
                Just(".JSON"),
                Just(".a.b"),
                Just("%2ejson"),
                Just("%3F"),
                Just("%3fx=1"),
                Just("%23"),
                Just("%23frag"),
            ];
            (
                slashes,
                slashes,
                letter('a'),
                letter('d'),
                letter('m'),
                letter('i'),
                letter('n'),
                tail,
            )
                .prop_map(|(s1, s2, a, d, m, i, n, tail)| {
                    format!("{s1}prod{s2}{a}{d}{m}{i}{n}{tail}")
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

            #[test]
            fn canonical_paths_are_fixed_points(raw in path_text()) {
                if let Ok(canonical) = canonical_path(&raw) {
                    let again = canonical_path(&canonical).expect("a canonical path is accepted");
                    prop_assert_eq!(&*again, &*canonical);
                }
            }

            #[test]
            fn canonical_paths_hold_nothing_to_read_two_ways(raw in path_text()) {
                if let Ok(canonical) = canonical_path(&raw) {
                    prop_assert!(canonical.starts_with('/'));
                    prop_assert!(!canonical.contains("//"), "{}", canonical);
                    prop_assert!(canonical == "/" || !canonical.ends_with('/'));
                    prop_assert!(canonical.bytes().all(|b| b == b'%' || PLAIN[usize::from(b)]), "{}", canonical);
                    prop_assert!(!has_bad_escape(&canonical), "{}", canonical);
                    for segment in canonical.split('/').skip(1) {
                        prop_assert!(segment != "." && segment != "..", "{}", canonical);
                        prop_assert!(!segment.ends_with('.') && !segment.ends_with("%20"), "{}", canonical);
                    }
                }
            }

            #[test]
            fn every_spelling_of_admin_is_refused_or_denied(raw in admin_spelling()) {
                let policy = deny_admin();
                if let Ok(canonical) = canonical_path(&raw) {
                    prop_assert_eq!(decide(&policy, &canonical), Decision::ExplicitDeny, "{} read as {}", raw, canonical);
                }
            }
        }

        #[test]
        fn the_admin_policy_allows_other_paths() {
            let policy = deny_admin();
            assert_eq!(decide(&policy, "/prod/public"), Decision::Allow);
            assert_eq!(decide(&policy, "/prod/admin/x"), Decision::Allow);
            assert_eq!(decide(&policy, "/prod/ADMIN"), Decision::ExplicitDeny);
        }
    }
}
