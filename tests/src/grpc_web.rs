//! The browser's side of the admin port, built by hand: raw HTTP/1.1
//! requests whose path goes on the wire exactly as written (no client
//! normalizes `/assets/../x` or `//assets` away), and gRPC-web calls framed
//! as a browser's grpc-web client frames them (5-byte prefix, prost body;
//! the answer's messages and its trailer frame decoded back), over HTTP/1.1
//! or HTTP/2, plain or TLS.

use anyhow::{Context, bail};
use bytes::{Buf, Bytes};
use http::{HeaderMap, HeaderName, HeaderValue};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The content type connect-web's grpc-web transport sends.
pub const GRPC_WEB: &str = "application/grpc-web+proto";

/// An HTTP answer as it came off the wire (chunked bodies decoded).
#[derive(Debug)]
pub struct RawAnswer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl RawAnswer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Where to send: the control plane's address, over TLS with `tls` (a
/// client configuration trusting the test CA) or in clear.
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl Target {
    pub fn plain(addr: SocketAddr) -> Self {
        Self { addr, tls: None }
    }

    pub fn tls(addr: SocketAddr, pki: &crate::tls::Pki, alpn: &[&[u8]]) -> Self {
        Self {
            addr,
            tls: Some(pki.client_config(alpn)),
        }
    }
}

/// One HTTP/1.1 request on a new connection (`connection: close`), `path`
/// written verbatim; reads the answer to the end of the connection.
pub async fn http1(
    target: &Target,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> anyhow::Result<RawAnswer> {
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nhost: localhost:{}\r\nconnection: close\r\n",
        target.addr.port()
    );
    if !body.is_empty() || method == "POST" {
        request.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    let tcp = tokio::net::TcpStream::connect(target.addr).await?;
    let exchange = async {
        match &target.tls {
            None => send_and_read(tcp, &bytes).await,
            Some(config) => {
                let stream = tokio_rustls::TlsConnector::from(config.clone())
                    .connect(ServerName::try_from("localhost")?, tcp)
                    .await
                    .context("TLS handshake")?;
                send_and_read(stream, &bytes).await
            }
        }
    };
    let raw = tokio::time::timeout(Duration::from_secs(20), exchange)
        .await
        .context("no answer within 20 s")??;
    parse_http1(&raw, method == "HEAD")
}

async fn send_and_read(
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    request: &[u8],
) -> anyhow::Result<Vec<u8>> {
    stream.write_all(request).await?;
    stream.flush().await?;
    let mut answer = Vec::new();
    match stream.read_to_end(&mut answer).await {
        Ok(_) => {}
        // A TLS peer that closes without close_notify: what came is whole
        // or the parse says otherwise.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !answer.is_empty() => {}
        Err(e) => return Err(e).context("reading the answer"),
    }
    Ok(answer)
}

fn parse_http1(raw: &[u8], head_only: bool) -> anyhow::Result<RawAnswer> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .with_context(|| format!("no end of head in {:?}", String::from_utf8_lossy(raw)))?;
    let head = std::str::from_utf8(&raw[..end]).context("head is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("status line '{status_line}'"))?;
    let mut headers = HeaderMap::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .with_context(|| format!("header line '{line}'"))?;
        headers.append(
            HeaderName::from_bytes(name.trim().as_bytes())?,
            HeaderValue::from_str(value.trim())?,
        );
    }
    let rest = &raw[end + 4..];
    let chunked = headers
        .get(http::header::TRANSFER_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
    let body = if head_only || status == 304 {
        Vec::new()
    } else if chunked {
        dechunk(rest)?
    } else if let Some(length) = headers.get(http::header::CONTENT_LENGTH) {
        let length: usize = length.to_str()?.parse()?;
        if rest.len() < length {
            bail!("body cut short: {} of {length} bytes", rest.len());
        }
        rest[..length].to_vec()
    } else {
        rest.to_vec()
    };
    Ok(RawAnswer {
        status,
        headers,
        body,
    })
}

/// A chunked body (RFC 9112 §7.1), to its last chunk.
fn dechunk(mut rest: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("chunk size line cut short")?;
        let line = std::str::from_utf8(&rest[..line_end])?;
        let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
            .with_context(|| format!("chunk size '{line}'"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        if rest.len() < size + 2 {
            bail!("chunk cut short");
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

/// A message in a grpc-web data frame: flag 0, 4-byte big-endian length.
pub fn frame(message: &impl prost::Message) -> Vec<u8> {
    let encoded = message.encode_to_vec();
    let mut framed = Vec::with_capacity(5 + encoded.len());
    framed.push(0);
    framed.extend_from_slice(&(encoded.len() as u32).to_be_bytes());
    framed.extend_from_slice(&encoded);
    framed
}

/// A grpc-web answer taken apart.
#[derive(Debug)]
pub struct GrpcWebAnswer {
    pub http_status: u16,
    pub headers: HeaderMap,
    /// The data frames' messages, in order.
    pub messages: Vec<Bytes>,
    /// The trailer frame (flag 0x80), if the answer had one.
    pub trailers: Option<HeaderMap>,
}

impl GrpcWebAnswer {
    pub fn parse(http_status: u16, headers: HeaderMap, body: &[u8]) -> anyhow::Result<Self> {
        let mut rest = body;
        let mut messages = Vec::new();
        let mut trailers = None;
        while !rest.is_empty() {
            if rest.len() < 5 {
                bail!("a frame prefix cut short: {rest:?}");
            }
            let flag = rest[0];
            let length = (&rest[1..5]).get_u32() as usize;
            let payload = rest
                .get(5..5 + length)
                .with_context(|| format!("a frame of {length} bytes cut short"))?;
            rest = &rest[5 + length..];
            match flag {
                0 if trailers.is_none() => messages.push(Bytes::copy_from_slice(payload)),
                0x80 if trailers.is_none() => trailers = Some(parse_trailer_frame(payload)?),
                _ => bail!("unexpected frame with flag {flag:#x}"),
            }
        }
        Ok(Self {
            http_status,
            headers,
            messages,
            trailers,
        })
    }

    /// The call's status as a grpc-web client reads it: from the trailer
    /// frame, or from the headers of a trailers-only answer.
    pub fn status(&self) -> anyhow::Result<tonic::Status> {
        let from = self.trailers.as_ref().unwrap_or(&self.headers);
        tonic::Status::from_header_map(from).with_context(|| format!("no grpc-status in {self:?}"))
    }

    /// The one message of a successful unary call.
    pub fn message<M: prost::Message + Default>(&self) -> anyhow::Result<M> {
        let status = self.status()?;
        if status.code() != tonic::Code::Ok {
            bail!("the call failed: {status:?}");
        }
        match self.messages.as_slice() {
            [one] => Ok(M::decode(one.clone())?),
            other => bail!("{} messages, not one", other.len()),
        }
    }
}

/// `name:value` lines, as grpc-web writes trailers.
fn parse_trailer_frame(payload: &[u8]) -> anyhow::Result<HeaderMap> {
    let text = std::str::from_utf8(payload).context("trailer frame is not text")?;
    let mut trailers = HeaderMap::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .with_context(|| format!("trailer line '{line}'"))?;
        trailers.append(
            HeaderName::from_bytes(name.trim().to_ascii_lowercase().as_bytes())?,
            HeaderValue::from_str(value.trim())?,
        );
    }
    Ok(trailers)
}

/// The headers a browser's grpc-web call carries, with the token if any.
fn call_headers(token: Option<&str>) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("content-type", GRPC_WEB.to_owned()),
        ("accept", GRPC_WEB.to_owned()),
        ("x-grpc-web", "1".to_owned()),
    ];
    if let Some(token) = token {
        headers.push(("authorization", format!("Bearer {token}")));
    }
    headers
}

/// A unary grpc-web call to `path` (`/package.Service/Method`) over HTTP/1.1.
pub async fn call_http1(
    target: &Target,
    path: &str,
    token: Option<&str>,
    request: &impl prost::Message,
) -> anyhow::Result<GrpcWebAnswer> {
    let headers = call_headers(token);
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answer = http1(target, "POST", path, &headers, &frame(request)).await?;
    GrpcWebAnswer::parse(answer.status, answer.headers, &answer.body)
}

/// The call over HTTP/2 when `http2`, else over HTTP/1.1: for a test that
/// checks both ways a browser may call.
pub async fn call(
    target: &Target,
    http2: bool,
    path: &str,
    token: Option<&str>,
    request: &impl prost::Message,
) -> anyhow::Result<GrpcWebAnswer> {
    if http2 {
        call_http2(target, path, token, request).await
    } else {
        call_http1(target, path, token, request).await
    }
}

/// The same call over HTTP/2: h2c with prior knowledge in clear, ALPN
/// `h2` over TLS (the target's client configuration must offer it).
pub async fn call_http2(
    target: &Target,
    path: &str,
    token: Option<&str>,
    request: &impl prost::Message,
) -> anyhow::Result<GrpcWebAnswer> {
    let tcp = tokio::net::TcpStream::connect(target.addr).await?;
    let scheme = if target.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let mut builder =
        http::Request::post(format!("{scheme}://localhost:{}{path}", target.addr.port()));
    for (name, value) in call_headers(token) {
        builder = builder.header(name, value);
    }
    let request = builder.body(Full::new(Bytes::from(frame(request))))?;
    let call = async {
        let response = match &target.tls {
            None => {
                let (mut sender, connection) =
                    hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
                        .await?;
                tokio::spawn(connection);
                sender.send_request(request).await?
            }
            Some(config) => {
                let stream = tokio_rustls::TlsConnector::from(config.clone())
                    .connect(ServerName::try_from("localhost")?, tcp)
                    .await
                    .context("TLS handshake")?;
                if stream.get_ref().1.alpn_protocol() != Some(b"h2") {
                    bail!("the server did not choose h2");
                }
                let (mut sender, connection) = hyper::client::conn::http2::handshake(
                    TokioExecutor::new(),
                    TokioIo::new(stream),
                )
                .await?;
                tokio::spawn(connection);
                sender.send_request(request).await?
            }
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await?.to_bytes();
        GrpcWebAnswer::parse(status, headers, &body)
    };
    tokio::time::timeout(Duration::from_secs(20), call)
        .await
        .context("no answer within 20 s")?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_and_frames_decode() {
        let raw = b"HTTP/1.1 200 OK\r\ncontent-type: application/grpc-web+proto\r\n\
            transfer-encoding: chunked\r\n\r\n\
            7\r\n\x00\x00\x00\x00\x02hi\r\n\
            14\r\n\x80\x00\x00\x00\x0fgrpc-status:0\r\n\r\n0\r\n\r\n";
        let answer = parse_http1(raw, false).unwrap();
        assert_eq!(answer.status, 200);
        let call = GrpcWebAnswer::parse(answer.status, answer.headers, &answer.body).unwrap();
        assert_eq!(call.messages, vec![Bytes::from_static(b"hi")]);
        assert_eq!(call.status().unwrap().code(), tonic::Code::Ok);
    }

    #[test]
    fn a_trailers_only_answer_has_its_status_in_the_headers() {
        let raw = b"HTTP/1.1 200 OK\r\ngrpc-status: 16\r\ngrpc-message: no%20token\r\n\
            content-length: 0\r\n\r\n";
        let answer = parse_http1(raw, false).unwrap();
        let call = GrpcWebAnswer::parse(answer.status, answer.headers, &answer.body).unwrap();
        let status = call.status().unwrap();
        assert_eq!(status.code(), tonic::Code::Unauthenticated);
        assert_eq!(status.message(), "no token");
    }

    #[test]
    fn a_cut_frame_is_an_error() {
        assert!(GrpcWebAnswer::parse(200, HeaderMap::new(), b"\x00\x00\x00\x00\x05hi").is_err());
    }
}
