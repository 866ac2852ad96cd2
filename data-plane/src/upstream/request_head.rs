//! Writing the request head for a backend: request line, Host, the
//! forwarded headers, and the body framing this client chose (it never
//! passes on the client's own framing headers: the body may have been
//! buffered, and a client's Content-Length next to a chunked body is how
//! requests get smuggled).

use super::{Destination, RequestHead};
use bytes::BytesMut;
use http::Method;
use http::header::{self, HeaderName};

/// How the request body goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    Empty,
    Length(u64),
    Chunked,
}

/// Appends the head of `request` for `dest` to `out`.
pub fn encode(
    out: &mut BytesMut,
    request: &RequestHead<'_>,
    dest: &Destination<'_>,
    framing: BodyFraming,
) {
    encode_head(out, request, dest, framing, false);
}

/// Appends the head of a protocol upgrade request (no body) for `dest` to
/// `out`: as [`encode`], with `Connection: upgrade`. The caller's headers
/// carry the `Upgrade` header naming the protocol.
pub fn encode_upgrade(out: &mut BytesMut, request: &RequestHead<'_>, dest: &Destination<'_>) {
    encode_head(out, request, dest, BodyFraming::Empty, true);
}

fn encode_head(
    out: &mut BytesMut,
    request: &RequestHead<'_>,
    dest: &Destination<'_>,
    framing: BodyFraming,
    upgrade: bool,
) {
    out.extend_from_slice(request.method.as_str().as_bytes());
    out.extend_from_slice(b" ");
    if dest.path_and_query.starts_with('?') {
        out.extend_from_slice(b"/");
    }
    out.extend_from_slice(dest.path_and_query.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
    out.extend_from_slice(dest.authority.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in request.headers {
        if is_framing_or_connection(name) {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    match framing {
        BodyFraming::Length(length) => {
            use std::fmt::Write as _;
            let _ = write!(out, "content-length: {length}\r\n");
        }
        BodyFraming::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        // Methods that carry a body say when it is empty; GET and the like
        // say nothing, as browsers and curl do.
        BodyFraming::Empty if expects_body(request.method) => {
            out.extend_from_slice(b"content-length: 0\r\n");
        }
        BodyFraming::Empty => {}
    }
    if upgrade {
        out.extend_from_slice(b"connection: upgrade\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

fn expects_body(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET
            | Method::HEAD
            | Method::DELETE
            | Method::OPTIONS
            | Method::TRACE
            | Method::CONNECT
    )
}

/// Headers this client writes itself (framing, Host, Connection), whatever
/// the caller passed. Other hop-by-hop headers are the caller's to strip
/// (`hop_by_hop::strip_hop_by_hop`). `Expect: 100-continue` was
/// answered on the client's side already; the body is sent without waiting.
fn is_framing_or_connection(name: &HeaderName) -> bool {
    *name == header::HOST
        || *name == header::CONTENT_LENGTH
        || *name == header::TRANSFER_ENCODING
        || *name == header::CONNECTION
        || *name == header::EXPECT
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(request: http::Request<()>, framing: BodyFraming) -> String {
        let (parts, ()) = request.into_parts();
        let uri = parts.uri.to_string();
        let dest = Destination::parse(&uri).unwrap();
        let head = RequestHead {
            method: &parts.method,
            headers: &parts.headers,
        };
        let mut out = BytesMut::new();
        encode(&mut out, &head, &dest, framing);
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn get_without_body_says_nothing_about_length() {
        let request = http::Request::get("http://backend:8080/pets/1?x=1&y")
            .header("accept", "application/json")
            .header("x-many", "a")
            .header("x-many", "b")
            .body(())
            .unwrap();
        assert_eq!(
            encoded(request, BodyFraming::Empty),
            "GET /pets/1?x=1&y HTTP/1.1\r\nhost: backend:8080\r\naccept: application/json\r\n\
             x-many: a\r\nx-many: b\r\n\r\n"
        );
    }

    #[test]
    fn the_clients_framing_headers_are_replaced_by_the_clients_own() {
        let request = http::Request::post("http://backend:8080/upload")
            .header("host", "evil")
            .header("content-length", "5")
            .header("transfer-encoding", "chunked")
            .header("expect", "100-continue")
            .body(())
            .unwrap();
        assert_eq!(
            encoded(request, BodyFraming::Length(3)),
            "POST /upload HTTP/1.1\r\nhost: backend:8080\r\ncontent-length: 3\r\n\r\n"
        );
        let request = http::Request::put("http://backend:8080/").body(()).unwrap();
        assert!(
            encoded(request, BodyFraming::Chunked).ends_with("transfer-encoding: chunked\r\n\r\n")
        );
        let request = http::Request::post("http://backend:8080/")
            .body(())
            .unwrap();
        assert!(encoded(request, BodyFraming::Empty).ends_with("content-length: 0\r\n\r\n"));
    }

    #[test]
    fn an_upgrade_request_asks_for_the_upgrade_and_nothing_else_connection_wise() {
        let request = http::Request::get("http://backend:8080/chat")
            .header("connection", "keep-alive")
            .header("upgrade", "websocket")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .body(())
            .unwrap();
        let (parts, ()) = request.into_parts();
        let dest = Destination::parse("http://backend:8080/chat").unwrap();
        let head = RequestHead {
            method: &parts.method,
            headers: &parts.headers,
        };
        let mut out = BytesMut::new();
        encode_upgrade(&mut out, &head, &dest);
        assert_eq!(
            String::from_utf8(out.to_vec()).unwrap(),
            "GET /chat HTTP/1.1\r\nhost: backend:8080\r\nupgrade: websocket\r\n\
             sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nconnection: upgrade\r\n\r\n"
        );
    }

    #[test]
    fn a_uri_without_a_path_still_gets_one() {
        let request = http::Request::get("http://backend:8080").body(()).unwrap();
        assert!(encoded(request, BodyFraming::Empty).starts_with("GET / HTTP/1.1\r\n"));
        let request = http::Request::get("http://backend:8080?q=1")
            .body(())
            .unwrap();
        assert!(encoded(request, BodyFraming::Empty).starts_with("GET /?q=1 HTTP/1.1\r\n"));
    }
}
