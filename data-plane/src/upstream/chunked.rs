//! `Transfer-Encoding: chunked`, both ways: decoding a backend's response
//! body as it arrives (data handed on without copying, trailers parsed by
//! `httparse`), and the few bytes that frame a streamed request body.

use super::UpstreamError;
use crate::hop_by_hop::is_hop_by_hop;
use bytes::{Buf, Bytes, BytesMut};
use http::HeaderMap;
use http::header::{self, HeaderName, HeaderValue};

/// A chunk-size line (size and extensions) longer than this is refused.
const MAX_SIZE_LINE: usize = 4096;
/// Trailer fields longer than this in all are refused.
const MAX_TRAILER_BYTES: usize = 64 * 1024;
const MAX_TRAILERS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading hex digits; `line` counts the bytes of the line so far.
    Size {
        size: u64,
        digits: u8,
        line: usize,
    },
    /// Whitespace after the size: a `;` (extension) or CR may follow.
    SizeWs {
        size: u64,
        line: usize,
    },
    /// In a chunk extension, up to CR.
    Extension {
        size: u64,
        line: usize,
    },
    /// Saw CR after the size line.
    SizeLf {
        size: u64,
    },
    Data {
        left: u64,
    },
    DataCr,
    DataLf,
    Trailers,
    Done,
}

/// What the decoder got out of the buffered bytes.
#[derive(Debug, PartialEq)]
pub enum Decoded {
    Data(Bytes),
    /// The body ended with these trailer fields.
    Trailers(HeaderMap),
    /// The body ended (no trailers).
    End,
    /// The buffer holds no further complete piece: read more.
    NeedMore,
}

#[derive(Debug)]
pub struct Decoder {
    state: State,
}

impl Default for Decoder {
    fn default() -> Self {
        Self {
            state: State::Size {
                size: 0,
                digits: 0,
                line: 0,
            },
        }
    }
}

impl Decoder {
    /// Takes what it can from the front of `buf`: the next piece of data,
    /// the end of the body, or `NeedMore`.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Decoded, UpstreamError> {
        loop {
            match self.state {
                State::Data { left } => {
                    if buf.is_empty() {
                        return Ok(Decoded::NeedMore);
                    }
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                    let data = buf.split_to(take).freeze();
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        State::DataCr
                    } else {
                        State::Data { left }
                    };
                    return Ok(Decoded::Data(data));
                }
                State::Trailers => return self.trailers(buf),
                State::Done => return Ok(Decoded::End),
                _ => {}
            }
            let Some(&byte) = buf.first() else {
                return Ok(Decoded::NeedMore);
            };
            buf.advance(1);
            self.state = self.step(byte)?;
        }
    }

    /// The framing state machine, one byte at a time (size lines are short).
    fn step(&self, byte: u8) -> Result<State, UpstreamError> {
        let bad = |what| Err(UpstreamError::Malformed(what));
        match self.state {
            State::Size { size, digits, line } => {
                if line >= MAX_SIZE_LINE {
                    return bad("chunk size line too long");
                }
                if let Some(digit) = (byte as char).to_digit(16) {
                    if digits >= 16 {
                        return bad("chunk size too large");
                    }
                    return Ok(State::Size {
                        size: size * 16 + u64::from(digit),
                        digits: digits + 1,
                        line: line + 1,
                    });
                }
                if digits == 0 {
                    return bad("chunk size missing");
                }
                match byte {
                    b'\r' => Ok(State::SizeLf { size }),
                    b';' => Ok(State::Extension {
                        size,
                        line: line + 1,
                    }),
                    b' ' | b'\t' => Ok(State::SizeWs {
                        size,
                        line: line + 1,
                    }),
                    _ => bad("invalid chunk size"),
                }
            }
            State::SizeWs { size, line } => match byte {
                _ if line >= MAX_SIZE_LINE => bad("chunk size line too long"),
                b' ' | b'\t' => Ok(State::SizeWs {
                    size,
                    line: line + 1,
                }),
                b';' => Ok(State::Extension {
                    size,
                    line: line + 1,
                }),
                b'\r' => Ok(State::SizeLf { size }),
                _ => bad("invalid chunk size"),
            },
            State::Extension { size, line } => match byte {
                _ if line >= MAX_SIZE_LINE => bad("chunk size line too long"),
                b'\r' => Ok(State::SizeLf { size }),
                b'\n' => bad("bare LF in chunk size line"),
                _ => Ok(State::Extension {
                    size,
                    line: line + 1,
                }),
            },
            State::SizeLf { size } => match (byte, size) {
                (b'\n', 0) => Ok(State::Trailers),
                (b'\n', left) => Ok(State::Data { left }),
                _ => bad("chunk size line not ended by CRLF"),
            },
            State::DataCr => match byte {
                b'\r' => Ok(State::DataLf),
                _ => bad("chunk data not followed by CRLF"),
            },
            State::DataLf => match byte {
                b'\n' => Ok(State::Size {
                    size: 0,
                    digits: 0,
                    line: 0,
                }),
                _ => bad("chunk data not followed by CRLF"),
            },
            State::Data { .. } | State::Trailers | State::Done => {
                unreachable!("handled in decode")
            }
        }
    }

    fn trailers(&mut self, buf: &mut BytesMut) -> Result<Decoded, UpstreamError> {
        // Most bodies end "0\r\n\r\n": no trailer section at all.
        if buf.starts_with(b"\r\n") {
            buf.advance(2);
            self.state = State::Done;
            return Ok(Decoded::End);
        }
        let mut slots = [httparse::EMPTY_HEADER; MAX_TRAILERS];
        let (length, fields) = match httparse::parse_headers(buf, &mut slots) {
            Ok(httparse::Status::Complete(done)) => done,
            Ok(httparse::Status::Partial) if buf.len() > MAX_TRAILER_BYTES => {
                return Err(UpstreamError::Malformed("trailers over 64 KiB"));
            }
            Ok(httparse::Status::Partial) => return Ok(Decoded::NeedMore),
            Err(_) => return Err(UpstreamError::Malformed("trailers do not parse")),
        };
        let mut trailers = HeaderMap::with_capacity(fields.len());
        for field in fields.iter() {
            let name = HeaderName::from_bytes(field.name.as_bytes())
                .map_err(|_| UpstreamError::Malformed("invalid trailer name"))?;
            // Framing, routing and connection fields have no place in
            // trailers (RFC 9110 §6.5.1); they are not passed on.
            if name == header::CONTENT_LENGTH
                || name == header::HOST
                || name == header::TRAILER
                || is_hop_by_hop(&name)
            {
                continue;
            }
            let value = HeaderValue::from_bytes(field.value)
                .map_err(|_| UpstreamError::Malformed("invalid trailer value"))?;
            trailers.append(name, value);
        }
        buf.advance(length);
        self.state = State::Done;
        Ok(if trailers.is_empty() {
            Decoded::End
        } else {
            Decoded::Trailers(trailers)
        })
    }
}

/// Appends the line that opens a chunk of `len` bytes.
pub fn write_chunk_header(out: &mut BytesMut, len: usize) {
    use std::fmt::Write as _;
    let _ = write!(out, "{len:X}\r\n");
}

/// Closes a chunk's data.
pub const CHUNK_END: &[u8] = b"\r\n";
/// The last chunk, with no trailers.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `wire` in pieces of `step` bytes, collecting the body.
    fn decode_all(
        wire: &[u8],
        step: usize,
    ) -> Result<(Vec<u8>, Option<HeaderMap>, BytesMut), UpstreamError> {
        let mut decoder = Decoder::default();
        let mut buf = BytesMut::new();
        let mut body = Vec::new();
        let mut fed = 0;
        loop {
            match decoder.decode(&mut buf)? {
                Decoded::Data(data) => body.extend_from_slice(&data),
                Decoded::Trailers(map) => return Ok((body, Some(map), buf)),
                Decoded::End => return Ok((body, None, buf)),
                Decoded::NeedMore => {
                    assert!(fed < wire.len(), "decoder wants more than the wire has");
                    let end = (fed + step).min(wire.len());
                    buf.extend_from_slice(&wire[fed..end]);
                    fed = end;
                }
            }
        }
    }

    #[test]
    fn decodes_at_every_split_point() {
        let wire = b"5\r\nhello\r\n1;ext=\"a b\"\r\n \r\nA \t;x\r\n0123456789\r\n0\r\n\r\nNEXT";
        for step in 1..wire.len() {
            let (body, trailers, rest) = decode_all(wire, step).unwrap();
            assert_eq!(body, b"hello 0123456789", "step {step}");
            assert!(trailers.is_none());
            // Bytes after the body (a pipelined response) are left alone.
            assert!(b"NEXT".starts_with(&rest), "step {step}: {rest:?}");
        }
    }

    #[test]
    fn trailers_come_back_as_a_map() {
        let wire = b"3\r\nabc\r\n0\r\nX-Checksum: 42\r\nContent-Length: 9\r\nConnection: x\r\nX-Other: y\r\n\r\n";
        for step in [1, 4, wire.len()] {
            let (body, trailers, _) = decode_all(wire, step).unwrap();
            assert_eq!(body, b"abc");
            let trailers = trailers.expect("trailers");
            assert_eq!(trailers["x-checksum"], "42");
            assert_eq!(trailers["x-other"], "y");
            assert_eq!(trailers.len(), 2, "framing and connection fields dropped");
        }
    }

    #[test]
    fn malformed_framing_is_refused() {
        for bad in [
            &b"\r\n"[..],
            b"g\r\n",
            b"5\nhello\r\n0\r\n\r\n",
            b"5\r\nhelloX\r\n0\r\n\r\n",
            b"11111111111111111\r\n",
            b"0\r\nbad header line\r\n\r\n",
            b"5 junk\r\nhello\r\n0\r\n\r\n",
        ] {
            let mut decoder = Decoder::default();
            let mut buf = BytesMut::from(bad);
            let mut outcome = Ok(Decoded::NeedMore);
            for _ in 0..10 {
                outcome = decoder.decode(&mut buf);
                if !matches!(outcome, Ok(Decoded::Data(_))) {
                    break;
                }
            }
            assert!(
                matches!(outcome, Err(UpstreamError::Malformed(_))),
                "{bad:?}: {outcome:?}"
            );
        }
        let endless = [b"1;".as_slice(), &[b'x'; MAX_SIZE_LINE + 1]].concat();
        let mut buf = BytesMut::from(&endless[..]);
        assert!(Decoder::default().decode(&mut buf).is_err());
    }

    #[test]
    fn chunk_headers_are_hex() {
        let mut out = BytesMut::new();
        write_chunk_header(&mut out, 255);
        write_chunk_header(&mut out, 1);
        assert_eq!(&out[..], b"FF\r\n1\r\n");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// One chunk: its data, how its size is written (upper case hex,
        /// leading zeros), and what follows the size on its line.
        #[derive(Debug, Clone)]
        struct Chunk {
            data: Vec<u8>,
            upper: bool,
            zeros: usize,
            after_size: String,
        }

        fn chunk() -> impl Strategy<Value = Chunk> {
            let after_size = prop_oneof![
                Just(String::new()),
                "[ \t]{1,3}",
                ";[a-z]{1,5}",
                ";[a-z]{1,5}=[a-z0-9]{1,5}",
                "[ \t]{0,2};[a-z]{1,5}=\"[ a-z;=]{0,8}\"",
                ";[a-z]{1,3};[a-z]{1,3}=1",
            ];
            (
                prop::collection::vec(any::<u8>(), 1..200),
                any::<bool>(),
                0usize..3,
                after_size,
            )
                .prop_map(|(data, upper, zeros, after_size)| Chunk {
                    data,
                    upper,
                    zeros,
                    after_size,
                })
        }

        fn wire(chunks: &[Chunk], trailers: &[(String, String)], next: &[u8]) -> Vec<u8> {
            let mut out = Vec::new();
            for c in chunks {
                let size = if c.upper {
                    format!("{:X}", c.data.len())
                } else {
                    format!("{:x}", c.data.len())
                };
                out.extend_from_slice("0".repeat(c.zeros).as_bytes());
                out.extend_from_slice(size.as_bytes());
                out.extend_from_slice(c.after_size.as_bytes());
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(&c.data);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n");
            for (name, value) in trailers {
                out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(next);
            out
        }

        /// Feeds `wire` in pieces whose sizes cycle through `steps`.
        fn decode_in_pieces(
            wire: &[u8],
            steps: &[usize],
        ) -> Result<(Vec<u8>, Option<HeaderMap>, BytesMut), UpstreamError> {
            let mut decoder = Decoder::default();
            let mut buf = BytesMut::new();
            let mut body = Vec::new();
            let mut fed = 0;
            let mut step = steps.iter().cycle();
            // Each round either feeds a byte or more, or ends: bounded.
            for _ in 0..wire.len() * 4 + 16 {
                match decoder.decode(&mut buf)? {
                    Decoded::Data(data) => body.extend_from_slice(&data),
                    Decoded::Trailers(map) => return Ok((body, Some(map), buf)),
                    Decoded::End => return Ok((body, None, buf)),
                    Decoded::NeedMore => {
                        assert!(fed < wire.len(), "decoder wants more than the wire has");
                        let end = (fed + step.next().copied().unwrap_or(1)).min(wire.len());
                        buf.extend_from_slice(&wire[fed..end]);
                        fed = end;
                    }
                }
            }
            panic!("the decoder made no progress");
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

            #[test]
            fn bodies_decode_whatever_their_chunks_extensions_trailers_and_splits(
                chunks in prop::collection::vec(chunk(), 0..8),
                trailers in prop::collection::vec(("x-[a-z]{1,8}", "[!-~]([ -~]{0,10}[!-~])?"), 0..4),
                steps in prop::collection::vec(1usize..64, 1..8),
                next in prop::collection::vec(any::<u8>(), 0..8),
            ) {
                let wire = wire(&chunks, &trailers, &next);
                let (body, got_trailers, rest) = decode_in_pieces(&wire, &steps).unwrap();
                let want: Vec<u8> = chunks.iter().flat_map(|c| c.data.clone()).collect();
                prop_assert_eq!(body, want);
                match got_trailers {
                    None => prop_assert!(trailers.is_empty()),
                    Some(map) => {
                        for (name, value) in &trailers {
                            let values: Vec<_> = map.get_all(name.as_str()).iter().collect();
                            prop_assert!(values.iter().any(|v| v.as_bytes() == value.as_bytes()));
                        }
                        prop_assert_eq!(map.len(), trailers.len());
                    }
                }
                // Bytes after the body are left for the next response.
                prop_assert!(next.starts_with(&rest));
            }

            #[test]
            fn every_split_point_decodes_the_same(chunks in prop::collection::vec(chunk(), 1..4)) {
                let wire = wire(&chunks, &[], b"");
                let want: Vec<u8> = chunks.iter().flat_map(|c| c.data.clone()).collect();
                for split in 1..wire.len() {
                    let (body, _, _) = decode_in_pieces(&wire, &[split, wire.len()]).unwrap();
                    prop_assert_eq!(&body, &want, "split at {}", split);
                }
            }

            #[test]
            fn garbage_never_panics(
                bytes in prop::collection::vec(any::<u8>(), 0..512),
                steps in prop::collection::vec(1usize..32, 1..4),
            ) {
                let mut decoder = Decoder::default();
                let mut buf = BytesMut::new();
                let mut fed = 0;
                let mut step = steps.iter().cycle();
                for _ in 0..bytes.len() * 4 + 16 {
                    match decoder.decode(&mut buf) {
                        Err(_) | Ok(Decoded::End) | Ok(Decoded::Trailers(_)) => break,
                        Ok(Decoded::Data(_)) => {}
                        Ok(Decoded::NeedMore) if fed == bytes.len() => break,
                        Ok(Decoded::NeedMore) => {
                            let end = (fed + step.next().copied().unwrap_or(1)).min(bytes.len());
                            buf.extend_from_slice(&bytes[fed..end]);
                            fed = end;
                        }
                    }
                }
            }

            #[test]
            fn chunk_like_garbage_never_panics(
                pieces in prop::collection::vec(prop_oneof![
                    Just(b"\r\n".to_vec()),
                    Just(b"0\r\n".to_vec()),
                    Just(b";".to_vec()),
                    Just(b":".to_vec()),
                    "[0-9a-fA-F]{1,18}".prop_map(String::into_bytes),
                    prop::collection::vec(any::<u8>(), 1..8),
                ], 0..40),
            ) {
                let bytes = pieces.concat();
                let mut decoder = Decoder::default();
                let mut buf = BytesMut::from(&bytes[..]);
                for _ in 0..bytes.len() + 16 {
                    match decoder.decode(&mut buf) {
                        Ok(Decoded::Data(_)) => {}
                        _ => break,
                    }
                }
            }
        }
    }
}
