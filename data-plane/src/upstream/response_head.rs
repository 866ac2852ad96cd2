//! Reading a backend's response head: status line and headers parsed by
//! `httparse`, header values shared with the received bytes (no copy), the
//! body's framing worked out as RFC 9112 §6.3 says, and hop-by-hop headers
//! left out on the way, since they describe this connection, not the
//! response the client gets.

use super::UpstreamError;
use crate::hop_by_hop::is_hop_by_hop;
use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};
use smallvec::SmallVec;
use std::mem::MaybeUninit;

/// More response headers than this is a broken or hostile backend.
pub const MAX_HEADERS: usize = 128;
/// The longest response head accepted, in bytes.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// How the body after a response head is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body: HEAD, 204, 304, or `Content-Length: 0`.
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the backend closes the connection.
    UntilClose,
}

#[derive(Debug)]
pub struct ResponseHead {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub framing: Framing,
    /// The connection may carry another request after this response.
    pub keep_alive: bool,
}

/// Parses one response head from the front of `buf`, removing it. `Ok(None)`
/// means the head is not complete yet; read more and call again.
/// `head_request` says the request was HEAD, whose response has no body
/// whatever its headers say.
pub fn parse(
    buf: &mut BytesMut,
    head_request: bool,
) -> Result<Option<ResponseHead>, UpstreamError> {
    // Uninitialised slots and offsets: zeroing 128 of each would cost
    // more than parsing a typical head.
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        buf,
        &mut slots,
    );
    let length = match parsed {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD_BYTES => {
            return Err(UpstreamError::Malformed("response head over 64 KiB"));
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(UpstreamError::Malformed("more than 128 response headers"));
        }
        Err(_) => return Err(UpstreamError::Malformed("response head does not parse")),
    };
    let code = response.code.unwrap_or_default();
    let status = StatusCode::from_u16(code)
        .map_err(|_| UpstreamError::Malformed("status code out of range"))?;
    let http_11 = response.version == Some(1);

    // Where each header sits in `buf`, so the values can share the bytes
    // once the head is split off.
    let base = buf.as_ptr() as usize;
    let count = response.headers.len();
    let spans: SmallVec<[(usize, usize, usize, usize); 32]> = response
        .headers
        .iter()
        .map(|h| {
            let name = h.name.as_ptr() as usize - base;
            let value = h.value.as_ptr() as usize - base;
            (name, h.name.len(), value, h.value.len())
        })
        .collect();
    let head: Bytes = buf.split_to(length).freeze();

    let mut headers = HeaderMap::with_capacity(count);
    let mut connection = Connection::default();
    let mut content_length: Option<u64> = None;
    let mut codings = Codings::default();
    for &(name_at, name_len, value_at, value_len) in &spans {
        let name = HeaderName::from_bytes(&head[name_at..name_at + name_len])
            .map_err(|_| UpstreamError::Malformed("invalid response header name"))?;
        let raw = head.slice(value_at..value_at + value_len);
        if name == header::CONNECTION {
            connection.read(&raw);
            continue;
        }
        if name == header::TRANSFER_ENCODING {
            // Several fields form one list (RFC 9110 §5.3): judged together.
            codings.read(&raw);
            continue;
        }
        if name == header::CONTENT_LENGTH {
            let length = parse_content_length(&raw)?;
            if content_length.is_some_and(|seen| seen != length) {
                return Err(UpstreamError::Malformed(
                    "conflicting Content-Length values",
                ));
            }
            content_length = Some(length);
        }
        // `Trailer` names the trailer fields; hyper's HTTP/1 server sends
        // only the trailers it names, so it stays (RFC 9110 does not count
        // it as hop-by-hop; RFC 2616 did).
        if name != header::TRAILER && is_hop_by_hop(&name) {
            continue;
        }
        let value = HeaderValue::from_maybe_shared(raw)
            .map_err(|_| UpstreamError::Malformed("invalid response header value"))?;
        headers.append(name, value);
    }
    connection.remove_named(&mut headers);

    let no_body = head_request
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let mut keep_alive = if http_11 {
        !connection.close
    } else {
        connection.keep_alive && !connection.close
    };
    let encoded = codings.fields > 0;
    let framing = if no_body {
        // A body announced where none may follow: should the backend send
        // one anyway, it would be read as the next response. Safer not to
        // reuse the connection (a HEAD usually announces its GET's length).
        if content_length.is_some_and(|l| l > 0) || encoded {
            keep_alive = false;
        }
        Framing::Empty
    } else if encoded {
        // Both headers at once is how requests get smuggled: honour the
        // encoding (as RFC 9112 says) and never reuse the connection.
        // HTTP/1.0 has no chunked coding to keep a connection open with.
        if content_length.is_some() || !http_11 {
            keep_alive = false;
        }
        // Another coding (gzip, ...) would reach the client undeclared,
        // once this hop's framing is gone: refused rather than garbled.
        if !codings.is_just_chunked() {
            return Err(UpstreamError::Malformed(
                "transfer codings other than chunked are not supported",
            ));
        }
        Framing::Chunked
    } else {
        match content_length {
            Some(0) => Framing::Empty,
            Some(length) => Framing::Length(length),
            None => Framing::UntilClose,
        }
    };
    if framing == Framing::UntilClose {
        keep_alive = false;
    }
    if encoded && content_length.is_some() {
        // The encoding decides the body's length; the client's side is
        // framed afresh, and a Content-Length left beside it would lie.
        headers.remove(header::CONTENT_LENGTH);
    }
    Ok(Some(ResponseHead {
        status,
        headers,
        framing,
        keep_alive,
    }))
}

fn parse_content_length(raw: &[u8]) -> Result<u64, UpstreamError> {
    // A list of equal values ("42, 42") is tolerated, as RFC 9110 allows.
    let mut length = None;
    for part in raw.split(|b| *b == b',') {
        let digits = trim(part);
        if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
            return Err(UpstreamError::Malformed("invalid Content-Length"));
        }
        let value = digits
            .iter()
            .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        if length.is_some_and(|seen| seen != value) {
            return Err(UpstreamError::Malformed(
                "conflicting Content-Length values",
            ));
        }
        length = Some(value);
    }
    length.ok_or(UpstreamError::Malformed("invalid Content-Length"))
}

/// Every `Transfer-Encoding` field line of a head, read as one list.
#[derive(Default)]
struct Codings {
    /// Field lines seen.
    fields: usize,
    /// Codings named, over all lines.
    count: usize,
    /// Some coding is not `chunked` (or a list element is not a token).
    other: bool,
}

impl Codings {
    fn read(&mut self, value: &[u8]) {
        self.fields += 1;
        for element in value.split(|b| *b == b',').map(trim) {
            // Empty list elements are allowed and mean nothing.
            if element.is_empty() {
                continue;
            }
            self.count += 1;
            if !element.eq_ignore_ascii_case(b"chunked") {
                self.other = true;
            }
        }
    }

    /// Exactly one coding over all lines, and it is `chunked`: `gzip` then
    /// `chunked`, or `chunked` twice, is not (the body would reach the
    /// client still encoded, or be read with the wrong framing).
    fn is_just_chunked(&self) -> bool {
        self.count == 1 && !self.other
    }
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// What the `Connection` header said.
#[derive(Default)]
struct Connection {
    close: bool,
    keep_alive: bool,
    /// Other tokens: names of further hop-by-hop headers.
    named: Vec<HeaderName>,
}

impl Connection {
    fn read(&mut self, value: &[u8]) {
        for token in value.split(|b| *b == b',').map(trim) {
            if token.eq_ignore_ascii_case(b"close") {
                self.close = true;
            } else if token.eq_ignore_ascii_case(b"keep-alive") {
                self.keep_alive = true;
            } else if let Ok(name) = HeaderName::from_bytes(token) {
                self.named.push(name);
            }
        }
    }

    fn remove_named(&self, headers: &mut HeaderMap) {
        for name in &self.named {
            headers.remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str, head_request: bool) -> Result<Option<ResponseHead>, UpstreamError> {
        let mut buf = BytesMut::from(text.as_bytes());
        parse(&mut buf, head_request)
    }

    fn complete(text: &str) -> ResponseHead {
        head(text, false).unwrap().expect("complete head")
    }

    #[test]
    fn length_framed_response_keeps_the_body_in_the_buffer() {
        let mut buf =
            BytesMut::from(&b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-A: b\r\n\r\nok\n"[..]);
        let head = parse(&mut buf, false).unwrap().unwrap();
        assert_eq!(head.status, StatusCode::OK);
        assert_eq!(head.framing, Framing::Length(3));
        assert!(head.keep_alive);
        assert_eq!(head.headers["x-a"], "b");
        assert_eq!(head.headers["content-length"], "3");
        assert_eq!(&buf[..], b"ok\n");
    }

    #[test]
    fn partial_heads_ask_for_more_and_huge_ones_are_refused() {
        assert!(
            head("HTTP/1.1 200 OK\r\nContent-Le", false)
                .unwrap()
                .is_none()
        );
        let huge = format!("HTTP/1.1 200 OK\r\nX: {}", "a".repeat(MAX_HEAD_BYTES + 1));
        assert!(matches!(
            head(&huge, false),
            Err(UpstreamError::Malformed(_))
        ));
        let many: String = (0..=MAX_HEADERS).map(|i| format!("x-{i}: v\r\n")).collect();
        let text = format!("HTTP/1.1 200 OK\r\n{many}\r\n");
        assert!(matches!(
            head(&text, false),
            Err(UpstreamError::Malformed(_))
        ));
    }

    #[test]
    fn framing_follows_rfc_9112() {
        assert_eq!(
            complete("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n").framing,
            Framing::Empty
        );
        assert_eq!(
            complete("HTTP/1.1 304 Not Modified\r\n\r\n").framing,
            Framing::Empty
        );
        assert_eq!(
            complete("HTTP/1.1 100 Continue\r\n\r\n").framing,
            Framing::Empty
        );
        let head_of_get = head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true)
            .unwrap()
            .unwrap();
        assert_eq!(head_of_get.framing, Framing::Empty);
        assert_eq!(
            head_of_get.headers["content-length"], "5",
            "HEAD keeps the length it announces"
        );
        assert!(
            !head_of_get.keep_alive,
            "a body announced but not sent: not reused"
        );
        assert!(complete("HTTP/1.1 204 No Content\r\n\r\n").keep_alive);
        assert!(
            !complete("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n").keep_alive
        );
        let chunked = complete("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n");
        assert_eq!(chunked.framing, Framing::Chunked);
        assert!(chunked.keep_alive);
        assert!(!chunked.headers.contains_key("transfer-encoding"));
        let close = complete("HTTP/1.1 200 OK\r\n\r\n");
        assert_eq!(close.framing, Framing::UntilClose);
        assert!(!close.keep_alive);
        for other in [
            "gzip",
            "gzip, chunked",
            "chunked, chunked",
            "",
            " , ",
            "chunked;q=1",
        ] {
            let text = format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: {other}\r\n\r\n");
            assert!(
                matches!(head(&text, false), Err(UpstreamError::Malformed(_))),
                "{other}"
            );
        }
        let old_chunked = complete(
            "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n",
        );
        assert_eq!(old_chunked.framing, Framing::Chunked);
        assert!(!old_chunked.keep_alive);
        assert_eq!(
            complete("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").framing,
            Framing::Empty
        );
        assert_eq!(
            complete("HTTP/1.1 200 OK\r\nContent-Length: 7, 7\r\n\r\n").framing,
            Framing::Length(7)
        );
    }

    #[test]
    fn smuggling_shapes_are_refused_or_never_reused() {
        for bad in [
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
            "HTTP/1.1 2000 Weird\r\n\r\n",
        ] {
            assert!(
                matches!(head(bad, false), Err(UpstreamError::Malformed(_))),
                "{bad:?}"
            );
        }
        let both =
            complete("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(both.framing, Framing::Chunked);
        assert!(!both.keep_alive);
        assert!(!both.headers.contains_key("content-length"));
    }

    #[test]
    fn connection_rules_decide_reuse_and_hop_by_hop_headers_stay_behind() {
        let closing = complete("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n");
        assert!(!closing.keep_alive);
        let old = complete("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n");
        assert!(!old.keep_alive);
        let old_kept =
            complete("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: Keep-Alive\r\n\r\n");
        assert!(old_kept.keep_alive);
        let hops = complete(
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive, x-private\r\n\
             Keep-Alive: timeout=5\r\nX-Private: 1\r\nUpgrade: h2c\r\nTrailer: x\r\nX-Public: 2\r\n\r\n",
        );
        let mut names: Vec<&str> = hops.headers.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["content-length", "trailer", "x-public"]);
    }

    #[test]
    fn transfer_encoding_lines_are_judged_together() {
        for lines in [
            "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n",
            "Transfer-Encoding: \r\n",
        ] {
            let text = format!("HTTP/1.1 200 OK\r\n{lines}\r\n");
            assert!(
                matches!(head(&text, false), Err(UpstreamError::Malformed(_))),
                "{lines:?}"
            );
        }
        let split_fine = complete(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: ,\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        assert_eq!(split_fine.framing, Framing::Chunked);
    }

    #[test]
    fn repeated_headers_keep_their_order() {
        let head = complete(
            "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n",
        );
        let cookies: Vec<&str> = head
            .headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// A response head the parser must read exactly as written.
        #[derive(Debug, Clone)]
        struct Generated {
            status: u16,
            /// Names in lower case; written in the case given.
            fields: Vec<(String, String, String)>,
            length: Option<u64>,
            chunked: bool,
        }

        impl Generated {
            fn text(&self) -> String {
                let mut out = format!("HTTP/1.1 {} Whatever Reason\r\n", self.status);
                for (_, written, value) in &self.fields {
                    out.push_str(&format!("{written}: {value}\r\n"));
                }
                if let Some(length) = self.length {
                    out.push_str(&format!("Content-Length: {length}\r\n"));
                }
                if self.chunked {
                    out.push_str("Transfer-Encoding: chunked\r\n");
                }
                out.push_str("\r\n");
                out
            }

            fn framing(&self) -> Framing {
                let status = StatusCode::from_u16(self.status).unwrap();
                if status.is_informational() || self.status == 204 || self.status == 304 {
                    Framing::Empty
                } else if self.chunked {
                    Framing::Chunked
                } else {
                    match self.length {
                        Some(0) => Framing::Empty,
                        Some(n) => Framing::Length(n),
                        None => Framing::UntilClose,
                    }
                }
            }
        }

        fn field() -> impl Strategy<Value = (String, String, String)> {
            (
                "x-[a-z0-9-]{1,12}",
                any::<bool>(),
                "([!-~]([ -~]{0,24}[!-~])?)?",
            )
                .prop_map(|(name, shout, value)| {
                    let written = if shout {
                        name.to_ascii_uppercase()
                    } else {
                        name.clone()
                    };
                    (name, written, value)
                })
        }

        fn generated() -> impl Strategy<Value = Generated> {
            (
                100u16..600,
                prop::collection::vec(field(), 0..12),
                prop::option::of(0u64..1_000_000),
                any::<bool>(),
            )
                .prop_map(|(status, fields, length, chunked)| Generated {
                    status,
                    fields,
                    length,
                    chunked,
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

            #[test]
            fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..1024), head_request in any::<bool>()) {
                let _ = parse(&mut BytesMut::from(&bytes[..]), head_request);
                let mut prefixed = b"HTTP/1.1 200 OK\r\n".to_vec();
                prefixed.extend_from_slice(&bytes);
                let _ = parse(&mut BytesMut::from(&prefixed[..]), head_request);
            }

            #[test]
            fn head_like_bytes_never_panic(
                lines in prop::collection::vec(prop_oneof![
                    Just("Transfer-Encoding: chunked".to_owned()),
                    Just("Transfer-Encoding: gzip".to_owned()),
                    Just("Content-Length: 5".to_owned()),
                    Just("Content-Length: 5, 6".to_owned()),
                    Just("Connection: close, x-a".to_owned()),
                    "[ -~]{0,30}",
                    "[a-zA-Z-]{1,10}: [\\x00-\\xff]{0,10}",
                ], 0..10),
                status in "[0-9]{1,4}",
                version in prop_oneof![Just("HTTP/1.1"), Just("HTTP/1.0"), Just("HTTP/2")],
            ) {
                let text = format!("{version} {status} R\r\n{}\r\n\r\n", lines.join("\r\n"));
                let _ = parse(&mut BytesMut::from(text.as_bytes()), false);
            }

            #[test]
            fn valid_heads_parse_as_written_at_every_split_point(g in generated(), body in prop::collection::vec(any::<u8>(), 0..16)) {
                let text = g.text();
                let mut wire = text.clone().into_bytes();
                wire.extend_from_slice(&body);
                for split in 0..=wire.len() {
                    let mut buf = BytesMut::from(&wire[..split]);
                    let first = parse(&mut buf, false).unwrap();
                    let head = match first {
                        Some(head) => {
                            prop_assert!(split >= text.len(), "complete at {} of {}", split, text.len());
                            buf.extend_from_slice(&wire[split..]);
                            head
                        }
                        None => {
                            prop_assert!(split < text.len(), "incomplete at {} of {}", split, text.len());
                            prop_assert_eq!(buf.len(), split, "nothing taken from a partial head");
                            buf.extend_from_slice(&wire[split..]);
                            parse(&mut buf, false).unwrap().expect("complete")
                        }
                    };
                    prop_assert_eq!(head.status.as_u16(), g.status);
                    prop_assert_eq!(head.framing, g.framing());
                    prop_assert_eq!(&buf[..], &wire[text.len()..], "the body is left in the buffer");
                    for (name, _, _) in &g.fields {
                        let want: Vec<&str> = g.fields.iter().filter(|f| &f.0 == name).map(|f| f.2.as_str()).collect();
                        let got: Vec<&[u8]> = head.headers.get_all(name.as_str()).iter().map(|v| v.as_bytes()).collect();
                        let want: Vec<&[u8]> = want.iter().map(|v| v.as_bytes()).collect();
                        prop_assert_eq!(got, want, "{}", name);
                    }
                    let expected_fields = g.fields.len() + usize::from(g.length.is_some() && !g.chunked);
                    prop_assert_eq!(head.headers.len(), expected_fields);
                    prop_assert_eq!(head.keep_alive, g.keep_alive());
                }
            }
        }

        impl Generated {
            /// RFC 9112's reuse rules for an HTTP/1.1 response.
            fn keep_alive(&self) -> bool {
                let no_body = self.status < 200 || self.status == 204 || self.status == 304;
                if no_body {
                    !self.chunked && self.length.is_none_or(|l| l == 0)
                } else if self.chunked {
                    self.length.is_none()
                } else {
                    self.length.is_some()
                }
            }
        }
    }
}
