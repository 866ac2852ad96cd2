//! The request body type every part of the node passes around, in a leaf
//! module so that the pipeline and the outbound client can both use it
//! without importing each other.
//!
//! A streaming body is boxed: the server boxes hyper's `Incoming` once per
//! request, and tests (or a stage that rewrites a body) can hand in any
//! other body, so nothing downstream is tied to hyper's connection type.

use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;

/// Why a streaming body failed: hyper's error (or any other body's), boxed
/// whole so that its message and source chain survive into logs.
///
/// A type of its own rather than a bare `Box<dyn Error>`: bodies wrapping
/// this one (`Limited`) convert their inner error into a boxed one, and the
/// identity conversion of a bare box trips the compiler's `Send` check of
/// the request future ("implementation of `From` is not general enough").
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct BodyError(Box<dyn std::error::Error + Send + Sync>);

impl BodyError {
    /// The body's own error, e.g. a `hyper::Error`.
    pub fn get_ref(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0
    }
}

/// A body read as it arrives. `Unsync`: a body is only ever polled by the
/// one task that owns it, and requiring `Sync` would rule out bodies that
/// are not.
pub type StreamingBody = UnsyncBoxBody<Bytes, BodyError>;

/// A request body on its way to the integration.
#[derive(Debug)]
pub enum RequestBody {
    /// Streams from the client as it arrives.
    Streaming(StreamingBody),
    /// Read whole already (to check a signature over it, or made by the
    /// gateway): sent with a `Content-Length`, and sent again on a retry.
    Buffered(Bytes),
}

/// Why a body could not be read whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadError {
    /// Over the payload limit.
    TooLarge,
    /// The body broke off, or did not arrive in time.
    Failed,
}

impl RequestBody {
    /// Reads the body whole, within `max` bytes and `timeout`, and keeps it
    /// buffered: the phases after the one that needed it whole (signature
    /// check, request validation) and the integration see the bytes read.
    /// A body buffered already is not read again.
    pub async fn read_whole(
        &mut self,
        max: usize,
        timeout: std::time::Duration,
    ) -> Result<&Bytes, ReadError> {
        if let RequestBody::Streaming(_) = self {
            let RequestBody::Streaming(incoming) =
                std::mem::replace(self, RequestBody::Buffered(Bytes::new()))
            else {
                unreachable!("matched above")
            };
            let collected = tokio::time::timeout(
                timeout,
                http_body_util::Limited::new(incoming, max).collect(),
            )
            .await
            .map_err(|_| ReadError::Failed)?
            .map_err(|e| {
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    ReadError::TooLarge
                } else {
                    ReadError::Failed
                }
            })?;
            *self = RequestBody::Buffered(collected.to_bytes());
        }
        match self {
            RequestBody::Buffered(bytes) => Ok(bytes),
            RequestBody::Streaming(_) => unreachable!("buffered above"),
        }
    }
}

/// Boxes a body for the pipeline: one allocation per request; size hints
/// and end-of-stream pass through.
pub fn streaming<B>(body: B) -> StreamingBody
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    body.map_err(|e| BodyError(Box::new(e))).boxed_unsync()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Body;
    use http_body_util::{Full, StreamBody};

    #[test]
    fn boxing_keeps_the_exact_length_and_end_of_stream() {
        let full = streaming(Full::new(Bytes::from_static(b"hello")));
        assert_eq!(full.size_hint().exact(), Some(5));
        assert!(!full.is_end_stream());
        let empty = streaming(http_body_util::Empty::<Bytes>::new());
        assert!(empty.is_end_stream());
    }

    #[tokio::test]
    async fn reading_whole_keeps_the_bytes_and_stops_at_the_limit() {
        let mut body = RequestBody::Streaming(streaming(Full::new(Bytes::from_static(b"hello"))));
        let timeout = std::time::Duration::from_secs(5);
        assert_eq!(&body.read_whole(5, timeout).await.unwrap()[..], b"hello");
        assert!(matches!(&body, RequestBody::Buffered(b) if &b[..] == b"hello"));
        // Buffered already: the limit was applied when it was read.
        assert_eq!(&body.read_whole(5, timeout).await.unwrap()[..], b"hello");
        let mut large = RequestBody::Streaming(streaming(Full::new(Bytes::from_static(b"hello"))));
        assert_eq!(
            large.read_whole(4, timeout).await.unwrap_err(),
            ReadError::TooLarge
        );
        let failure = std::io::Error::other("reset");
        let frames = futures_util::stream::iter([Err::<http_body::Frame<Bytes>, _>(failure)]);
        let mut broken = RequestBody::Streaming(streaming(StreamBody::new(frames)));
        assert_eq!(
            broken.read_whole(100, timeout).await.unwrap_err(),
            ReadError::Failed
        );
    }

    #[tokio::test]
    async fn a_failing_body_keeps_its_error_message_and_source() {
        let failure = std::io::Error::other("peer reset mid-body");
        let frames = futures_util::stream::iter([Err::<http_body::Frame<Bytes>, _>(failure)]);
        let body = streaming(StreamBody::new(frames));
        let error = body.collect().await.unwrap_err();
        assert_eq!(error.to_string(), "peer reset mid-body");
        assert!(error.get_ref().downcast_ref::<std::io::Error>().is_some());
    }
}
