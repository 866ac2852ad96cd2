//! Connection ids: 16 URL-safe characters (base64url of 12 bytes), like
//! AWS's `connectionId`. The first 4 bytes are the tag of the node that
//! holds the connection (random per process start, so ids of a restarted
//! node name no live connection), the other 8 are random. A node that gets
//! an `@connections` call for an id reads the owner from the id itself: no
//! shared table of connections is needed, and an id of a node that is gone
//! is known gone.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::fmt;

/// The tag of one node process, as it appears in its connections' ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeTag(pub [u8; 4]);

impl NodeTag {
    /// A fresh tag for a process that is starting.
    pub fn random() -> NodeTag {
        let mut b = [0u8; 4];
        getrandom::fill(&mut b).expect("the OS random source");
        NodeTag(b)
    }
}

impl fmt::Display for NodeTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// One connection's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnectionId([u8; 12]);

impl ConnectionId {
    /// A new id for a connection `node` holds.
    pub fn new(node: NodeTag) -> ConnectionId {
        let mut b = [0u8; 12];
        b[..4].copy_from_slice(&node.0);
        getrandom::fill(&mut b[4..]).expect("the OS random source");
        ConnectionId(b)
    }

    /// Reads an id as clients and backends write it; `None` for anything
    /// that is not one (the `@connections` API then answers 410, as for a
    /// connection that is gone).
    pub fn parse(text: &str) -> Option<ConnectionId> {
        if text.len() != 16 {
            return None;
        }
        let mut b = [0u8; 12];
        let n = URL_SAFE_NO_PAD.decode_slice(text, &mut b).ok()?;
        (n == 12).then_some(ConnectionId(b))
    }

    /// The node that holds (or held) the connection.
    pub fn node(&self) -> NodeTag {
        NodeTag([self.0[0], self.0[1], self.0[2], self.0[3]])
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = [0u8; 16];
        let n = URL_SAFE_NO_PAD
            .encode_slice(self.0, &mut out)
            .expect("12 bytes are 16 characters");
        f.write_str(std::str::from_utf8(&out[..n]).expect("base64 is ASCII"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_their_node_and_read_back() {
        let node = NodeTag::random();
        let id = ConnectionId::new(node);
        let text = id.to_string();
        assert_eq!(text.len(), 16);
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let back = ConnectionId::parse(&text).unwrap();
        assert_eq!(back, id);
        assert_eq!(back.node(), node);
        assert_ne!(ConnectionId::new(node), id, "random part");
    }

    #[test]
    fn other_text_is_no_id() {
        for bad in [
            "",
            "abc",
            "AAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAA=",
            "AAAAAAAA/AAAAAAA",
            "AAAAAAAA+AAAAAAA",
        ] {
            assert!(ConnectionId::parse(bad).is_none(), "{bad}");
        }
    }
}
