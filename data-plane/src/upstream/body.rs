//! A backend's response body, read from the connection as the client's
//! side asks for it, and the connection handed back to the pool the moment
//! the body's last byte is read. Dropped half-read (the client went away),
//! the body takes the connection with it: its framing is lost.

use super::UpstreamError;
use super::chunked::{Decoded, Decoder};
use super::metrics::PurposeMetrics;
use super::pool::Conn;
use super::response_head::Framing;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

#[derive(Debug)]
pub struct ResponseBody {
    /// `None` once the body has ended.
    reading: Option<Reading>,
    /// Where a failure while the body streams is counted.
    errors: Option<Arc<PurposeMetrics>>,
}

#[derive(Debug)]
struct Reading {
    conn: Conn,
    decoder: BodyDecoder,
    keep_alive: bool,
    /// How long the backend may stay silent in the middle of the body.
    read_idle: Duration,
    /// Armed while waiting on the socket; most bodies arrive with their
    /// head and never need it.
    silence: Option<Pin<Box<tokio::time::Sleep>>>,
}

#[derive(Debug)]
enum BodyDecoder {
    Length { left: u64 },
    Chunked(Decoder),
    UntilClose,
}

impl ResponseBody {
    /// The body that follows a response head read from `conn`. An empty
    /// body releases the connection at once.
    pub(super) fn new(conn: Conn, framing: Framing, keep_alive: bool, read_idle: Duration) -> Self {
        let decoder = match framing {
            Framing::Empty => {
                if keep_alive {
                    conn.release();
                }
                return Self {
                    reading: None,
                    errors: None,
                };
            }
            Framing::Length(left) => BodyDecoder::Length { left },
            Framing::Chunked => BodyDecoder::Chunked(Decoder::default()),
            Framing::UntilClose => BodyDecoder::UntilClose,
        };
        Self {
            reading: Some(Reading {
                conn,
                decoder,
                keep_alive,
                read_idle,
                silence: None,
            }),
            errors: None,
        }
    }

    /// Counts a failure of the rest of the body in `metrics` (a body
    /// already whole cannot fail, and costs nothing).
    pub(super) fn count_errors(&mut self, metrics: &Arc<PurposeMetrics>) {
        if self.reading.is_some() {
            self.errors = Some(metrics.clone());
        }
    }

    /// The body ended where its framing said: the connection can go back.
    fn finish(&mut self) {
        if let Some(reading) = self.reading.take()
            && reading.keep_alive
        {
            reading.conn.release();
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = UpstreamError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, UpstreamError>>> {
        let polled = self.poll_body(cx);
        if let Poll::Ready(Some(Err(e))) = &polled
            && let Some(metrics) = self.errors.take()
        {
            metrics.body_failed(e);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.reading.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match &self.reading {
            None => SizeHint::with_exact(0),
            Some(Reading {
                decoder: BodyDecoder::Length { left },
                ..
            }) => SizeHint::with_exact(*left),
            Some(_) => SizeHint::default(),
        }
    }
}

impl ResponseBody {
    fn poll_body(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, UpstreamError>>> {
        let this = self;
        loop {
            let Some(reading) = this.reading.as_mut() else {
                return Poll::Ready(None);
            };
            let buf = &mut reading.conn.read_buf;
            match &mut reading.decoder {
                BodyDecoder::Length { left } => {
                    if !buf.is_empty() {
                        let take = usize::try_from(*left).unwrap_or(usize::MAX).min(buf.len());
                        let data = buf.split_to(take).freeze();
                        *left -= take as u64;
                        if *left == 0 {
                            this.finish();
                        }
                        return Poll::Ready(Some(Ok(Frame::data(data))));
                    }
                }
                BodyDecoder::Chunked(decoder) => match decoder.decode(buf) {
                    Ok(Decoded::Data(data)) => return Poll::Ready(Some(Ok(Frame::data(data)))),
                    Ok(Decoded::Trailers(trailers)) => {
                        this.finish();
                        return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
                    }
                    Ok(Decoded::End) => {
                        this.finish();
                        return Poll::Ready(None);
                    }
                    Ok(Decoded::NeedMore) => {}
                    Err(e) => {
                        this.reading = None;
                        return Poll::Ready(Some(Err(e)));
                    }
                },
                BodyDecoder::UntilClose => {
                    if !buf.is_empty() {
                        let data = buf.split().freeze();
                        return Poll::Ready(Some(Ok(Frame::data(data))));
                    }
                }
            }
            // Nothing decodable is buffered: read more from the backend.
            let read = match super::read::poll_fill(&mut reading.conn, cx) {
                Poll::Ready(read) => {
                    reading.silence = None;
                    read
                }
                Poll::Pending => {
                    let idle = reading.read_idle;
                    let silence = reading
                        .silence
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                    ready!(silence.as_mut().poll(cx));
                    this.reading = None;
                    return Poll::Ready(Some(Err(UpstreamError::Stalled(idle))));
                }
            };
            match read {
                Ok(0) => {
                    let ended_cleanly = matches!(reading.decoder, BodyDecoder::UntilClose);
                    this.reading = None;
                    if ended_cleanly {
                        return Poll::Ready(None);
                    }
                    return Poll::Ready(Some(Err(UpstreamError::Malformed(
                        "backend closed the connection in the middle of the body",
                    ))));
                }
                Ok(_) => {}
                Err(e) => {
                    this.reading = None;
                    return Poll::Ready(Some(Err(UpstreamError::Read(e))));
                }
            }
        }
    }
}
