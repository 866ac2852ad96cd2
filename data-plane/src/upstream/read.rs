//! Reading a backend's response head off the connection (interim `1xx`
//! answers skipped), and filling the connection's read buffer.

use super::body::ResponseBody;
use super::pool::Conn;
use super::{UpstreamError, response_head};
use http::{Response, Version};
use std::io;
use std::task::{Context, Poll};
use std::time::Duration;

/// Reads the response head. `Ok(None)`: the backend closed the connection
/// before sending a byte. With `strict` false, any failure is `Ok(None)`
/// too (a best-effort read after a failed write). The body that follows
/// fails when the backend sends nothing for `read_idle`.
pub async fn response(
    mut conn: Conn,
    head_request: bool,
    read_idle: Duration,
    strict: bool,
) -> Result<Option<Response<ResponseBody>>, UpstreamError> {
    let mut received_any = !conn.read_buf.is_empty();
    loop {
        match response_head::parse(&mut conn.read_buf, head_request) {
            Ok(Some(head)) if head.status == http::StatusCode::SWITCHING_PROTOCOLS => {
                return fail(
                    strict,
                    UpstreamError::Malformed("unexpected protocol upgrade"),
                );
            }
            Ok(Some(head)) if head.status.is_informational() => continue,
            Ok(Some(head)) => {
                let keep_alive = head.keep_alive && conn.reusable;
                let body = ResponseBody::new(conn, head.framing, keep_alive, read_idle);
                let mut response = Response::new(body);
                *response.status_mut() = head.status;
                *response.version_mut() = Version::HTTP_11;
                *response.headers_mut() = head.headers;
                return Ok(Some(response));
            }
            Ok(None) => {}
            Err(e) => return fail(strict, e),
        }
        match std::future::poll_fn(|cx| poll_fill(&mut conn, cx)).await {
            Ok(0) if !received_any => return Ok(None),
            Ok(0) => {
                return fail(
                    strict,
                    UpstreamError::Malformed(
                        "connection closed in the middle of the response head",
                    ),
                );
            }
            Ok(_) => received_any = true,
            Err(e) if !received_any => return fail(strict, UpstreamError::Read(e)),
            Err(e) => return fail(strict, UpstreamError::CutOff(e)),
        }
    }
}

fn fail<T>(strict: bool, error: UpstreamError) -> Result<Option<T>, UpstreamError> {
    if strict { Err(error) } else { Ok(None) }
}

/// Reads what the socket has into the connection's buffer; `Ok(0)` at the
/// end of the stream.
pub fn poll_fill(conn: &mut Conn, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
    if conn.read_buf.capacity() - conn.read_buf.len() < super::READ_CHUNK / 4 {
        conn.read_buf.reserve(super::READ_CHUNK);
    }
    tokio_util::io::poll_read_buf(std::pin::Pin::new(&mut conn.stream), cx, &mut conn.read_buf)
}
