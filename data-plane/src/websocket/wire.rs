//! The relay's messages on Redis: a request one node publishes on the
//! owner node's channel, and the owner's reply on the requester's channel.
//! A small binary format (a POST's data may be 128 KiB of anything, which
//! JSON would have to escape or base64): every field is length-prefixed, so
//! a message from a newer or broken node is refused whole, never misread.
//!
//! ```text
//! request: 1 | 'Q' | correlation u64 | reply channel | api id | stage |
//!          connection id | verb (P, G, D) | data (the rest, POST only)
//! reply:   1 | 'A' | correlation u64 | outcome (P, I, D, G, F) |
//!          for I: connected at i64 | last active i64 | source ip | user agent
//! ```
//! Strings are a u16 length (big-endian) and UTF-8 bytes.

use super::connection_id::ConnectionId;
use super::fleet::{Call, Command, ConnectionInfo, Outcome};
use bytes::{Buf, BufMut, Bytes, BytesMut};

const VERSION: u8 = 1;
const REQUEST: u8 = b'Q';
const REPLY: u8 = b'A';

/// A message read from the node's channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Another node asks this one to carry out `call` and answer on
    /// `reply_to`.
    Request {
        correlation: u64,
        reply_to: String,
        call: Call,
    },
    /// The answer to this node's request `correlation`.
    Reply { correlation: u64, outcome: Outcome },
}

pub fn encode_request(correlation: u64, reply_to: &str, call: &Call) -> Bytes {
    let data: &[u8] = match &call.command {
        Command::Post(data) => data,
        _ => &[],
    };
    let mut out = BytesMut::with_capacity(64 + reply_to.len() + data.len());
    out.put_u8(VERSION);
    out.put_u8(REQUEST);
    out.put_u64(correlation);
    put_str(&mut out, reply_to);
    put_str(&mut out, &call.api_id);
    put_str(&mut out, &call.stage);
    put_str(&mut out, &call.id.to_string());
    out.put_u8(match call.command {
        Command::Post(_) => b'P',
        Command::Get => b'G',
        Command::Delete => b'D',
    });
    out.put_slice(data);
    out.freeze()
}

/// The reply to request `correlation`. Only what a requester can answer
/// with travels: a relay's own failures (unavailable, timed out) are the
/// requester's to tell.
pub fn encode_reply(correlation: u64, outcome: &Outcome) -> Bytes {
    let mut out = BytesMut::with_capacity(64);
    out.put_u8(VERSION);
    out.put_u8(REPLY);
    out.put_u64(correlation);
    match outcome {
        Outcome::Posted => out.put_u8(b'P'),
        Outcome::Deleted => out.put_u8(b'D'),
        Outcome::Full => out.put_u8(b'F'),
        Outcome::Info(info) => {
            out.put_u8(b'I');
            out.put_i64(info.connected_at_ms);
            out.put_i64(info.last_active_ms);
            put_str(&mut out, &info.source_ip);
            put_str(&mut out, &info.user_agent);
        }
        // The owner does not fail to ask itself; anything else it cannot
        // carry out is, to the caller, a connection that is gone.
        Outcome::Gone | Outcome::Unavailable(_) | Outcome::TimedOut => out.put_u8(b'G'),
    }
    out.freeze()
}

/// Reads one message; `None` for anything that is not one of ours, whole.
pub fn decode(message: &[u8]) -> Option<Message> {
    let mut b = message;
    if b.remaining() < 10 || b.get_u8() != VERSION {
        return None;
    }
    let kind = b.get_u8();
    let correlation = b.get_u64();
    match kind {
        REQUEST => {
            let reply_to = get_str(&mut b)?;
            let api_id = get_str(&mut b)?;
            let stage = get_str(&mut b)?;
            let id = ConnectionId::parse(&get_str(&mut b)?)?;
            if !b.has_remaining() {
                return None;
            }
            let command = match (b.get_u8(), b.has_remaining()) {
                (b'P', _) => Command::Post(Bytes::copy_from_slice(b)),
                (b'G', false) => Command::Get,
                (b'D', false) => Command::Delete,
                _ => return None,
            };
            Some(Message::Request {
                correlation,
                reply_to,
                call: Call {
                    api_id: api_id.into(),
                    stage: stage.into(),
                    id,
                    command,
                },
            })
        }
        REPLY => {
            if !b.has_remaining() {
                return None;
            }
            let outcome = match b.get_u8() {
                b'P' => Outcome::Posted,
                b'D' => Outcome::Deleted,
                b'F' => Outcome::Full,
                b'G' => Outcome::Gone,
                b'I' => {
                    if b.remaining() < 16 {
                        return None;
                    }
                    let connected_at_ms = b.get_i64();
                    let last_active_ms = b.get_i64();
                    Outcome::Info(ConnectionInfo {
                        connected_at_ms,
                        last_active_ms,
                        source_ip: get_str(&mut b)?,
                        user_agent: get_str(&mut b)?,
                    })
                }
                _ => return None,
            };
            (!b.has_remaining()).then_some(Message::Reply {
                correlation,
                outcome,
            })
        }
        _ => None,
    }
}

fn put_str(out: &mut BytesMut, s: &str) {
    // Every string here is short (ids, names, an IP, a user agent cut to
    // fit): longer ones are cut at a character boundary, never misframed.
    let mut end = s.len().min(u16::MAX as usize);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    out.put_u16(end as u16);
    out.put_slice(&s.as_bytes()[..end]);
}

fn get_str(b: &mut &[u8]) -> Option<String> {
    if b.remaining() < 2 {
        return None;
    }
    let len = b.get_u16() as usize;
    if b.remaining() < len {
        return None;
    }
    let s = std::str::from_utf8(&b[..len]).ok()?.to_owned();
    b.advance(len);
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::websocket::connection_id::NodeTag;

    fn call(command: Command) -> Call {
        Call {
            api_id: "chat".into(),
            stage: "prod".into(),
            id: ConnectionId::new(NodeTag::random()),
            command,
        }
    }

    #[test]
    fn requests_read_back() {
        for command in [
            Command::Post(Bytes::from_static(b"\x00binary\xff and text")),
            Command::Post(Bytes::new()),
            Command::Get,
            Command::Delete,
        ] {
            let call = call(command);
            let bytes = encode_request(42, "archway:ws:0a0b0c0d", &call);
            assert_eq!(
                decode(&bytes),
                Some(Message::Request {
                    correlation: 42,
                    reply_to: "archway:ws:0a0b0c0d".into(),
                    call,
                })
            );
        }
    }

    #[test]
    fn replies_read_back() {
        for outcome in [
            Outcome::Posted,
            Outcome::Deleted,
            Outcome::Full,
            Outcome::Gone,
            Outcome::Info(ConnectionInfo {
                connected_at_ms: 1_700_000_000_123,
                last_active_ms: 1_700_000_000_456,
                source_ip: "2001:db8::1".into(),
                user_agent: "agent/1 (é)".into(),
            }),
        ] {
            let bytes = encode_reply(u64::MAX, &outcome);
            assert_eq!(
                decode(&bytes),
                Some(Message::Reply {
                    correlation: u64::MAX,
                    outcome,
                })
            );
        }
        // A requester's own failures never travel as such.
        assert!(matches!(
            decode(&encode_reply(1, &Outcome::TimedOut)),
            Some(Message::Reply {
                outcome: Outcome::Gone,
                ..
            })
        ));
    }

    #[test]
    fn anything_else_is_refused_whole() {
        let good = encode_request(7, "r", &call(Command::Get)).to_vec();
        // Every truncation of a request, and of a GET reply.
        for end in 0..good.len() {
            assert_eq!(decode(&good[..end]), None, "cut at {end}");
        }
        let info = encode_reply(
            7,
            &Outcome::Info(ConnectionInfo {
                connected_at_ms: 1,
                last_active_ms: 2,
                source_ip: "192.0.2.1".into(),
                user_agent: "ua".into(),
            }),
        )
        .to_vec();
        for end in 0..info.len() {
            assert_eq!(decode(&info[..end]), None, "cut at {end}");
        }
        let mut newer = good.clone();
        newer[0] = 2;
        assert_eq!(decode(&newer), None, "another version");
        let mut trailing = good.clone();
        trailing.push(b'x');
        assert_eq!(decode(&trailing), None, "a GET carries no data");
        let mut unknown_verb = good.clone();
        *unknown_verb.last_mut().unwrap() = b'X';
        assert_eq!(decode(&unknown_verb), None);
        let mut bad_id = encode_request(7, "r", &call(Command::Get)).to_vec();
        // The id is the fourth string: mangle its first character.
        let at = 10 + (2 + 1) + (2 + 4) + (2 + 4) + 2;
        bad_id[at] = b'/';
        assert_eq!(decode(&bad_id), None, "not a connection id");
        assert_eq!(decode(b"\x01Z\0\0\0\0\0\0\0\0"), None, "unknown kind");
    }

    #[test]
    fn long_strings_are_cut_at_a_character_boundary() {
        let mut out = BytesMut::new();
        let long = "é".repeat(40_000);
        put_str(&mut out, &long);
        let mut b = &out[..];
        let back = get_str(&mut b).unwrap();
        assert!(back.len() <= u16::MAX as usize);
        assert!(long.starts_with(&back));
    }
}
