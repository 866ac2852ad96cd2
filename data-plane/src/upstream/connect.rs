//! Dialling a backend: name resolution (skipped for IP literals), TCP with
//! a connect deadline, socket options, and for `https://` a rustls
//! handshake that checks the certificate against the backend's name.

use super::{Destination, UpstreamError};
use rustls::pki_types::ServerName;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Resolution and the TCP handshake together get this long.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle backend connections are probed by the kernel after this long, so a
/// vanished backend host does not leave connections open forever.
const TCP_KEEPALIVE: Duration = Duration::from_secs(60);

/// A connection to a backend, in the clear or through TLS.
#[derive(Debug)]
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(tcp) => tcp,
            Stream::Tls(tls) => tls.get_ref().0,
        }
    }

    /// For a connection that sat idle in the pool: whether the backend
    /// closed it or sent something unasked (either way it cannot carry a
    /// request). Costs no system call unless the socket became readable.
    pub fn closed_while_idle(&self) -> bool {
        let mut probe = [0u8; 1];
        match self.tcp().try_read(&mut probe) {
            Err(e) => e.kind() != io::ErrorKind::WouldBlock,
            Ok(_) => true,
        }
    }
}

impl Stream {
    /// Whether TLS records already received hold data nobody read: bytes
    /// past the end of a response, which the socket probe cannot see.
    pub fn has_unread_plaintext(&mut self) -> bool {
        match self {
            Stream::Plain(_) => false,
            Stream::Tls(tls) => tls
                .get_mut()
                .1
                .process_new_packets()
                .map_or(true, |state| state.plaintext_bytes_to_read() > 0),
        }
    }
}

/// Opens a connection to `target`, through TLS for `https://`.
pub async fn dial(target: &Destination<'_>, tls: &TlsConnector) -> Result<Stream, UpstreamError> {
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, connect_tcp(target))
        .await
        .map_err(|_| UpstreamError::Connect {
            origin: target.authority.into(),
            source: io::Error::new(io::ErrorKind::TimedOut, "connect timed out after 5 s"),
        })??;
    let _ = tcp.set_nodelay(true);
    let keepalive = socket2::TcpKeepalive::new().with_time(TCP_KEEPALIVE);
    let _ = socket2::SockRef::from(&tcp).set_tcp_keepalive(&keepalive);
    if !target.tls {
        return Ok(Stream::Plain(tcp));
    }
    let name = ServerName::try_from(target.host.to_owned()).map_err(|_| UpstreamError::Tls {
        origin: target.authority.into(),
        source: io::Error::new(io::ErrorKind::InvalidInput, "not a valid TLS server name"),
    })?;
    let stream = tls
        .connect(name, tcp)
        .await
        .map_err(|source| UpstreamError::Tls {
            origin: target.authority.into(),
            source,
        })?;
    Ok(Stream::Tls(Box::new(stream)))
}

async fn connect_tcp(target: &Destination<'_>) -> Result<TcpStream, UpstreamError> {
    let connect_error = |source| UpstreamError::Connect {
        origin: target.authority.into(),
        source,
    };
    let addresses: Vec<SocketAddr> = match target.host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, target.port)],
        Err(_) => tokio::net::lookup_host((target.host, target.port))
            .await
            .map_err(connect_error)?
            .collect(),
    };
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the name resolved to no address");
    // In the resolver's order, as getaddrinfo sorts them (RFC 6724).
    for address in addresses {
        match TcpStream::connect(address).await {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = e,
        }
    }
    Err(connect_error(last))
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
