//! Where a backend request goes, read from the rendered integration URI
//! (`http[s]://authority/path?query`) without building an `http::Uri`: the
//! request line needs only the path and query, the pool and the Host
//! header only the authority. The same characters are refused as an
//! `http::Uri` would refuse, so nothing that could break the request line
//! (spaces, control characters, bytes outside ASCII) reaches the backend.

/// A rendered integration URI, split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Destination<'a> {
    pub tls: bool,
    /// `host[:port]` as written (without user info): the pool key and the
    /// Host header.
    pub authority: &'a str,
    /// The host alone, without IPv6 brackets: what is resolved and what the
    /// certificate must name.
    pub host: &'a str,
    pub port: u16,
    /// The request target, query included, fragment not: starts with `/`,
    /// or with `?` when the URI has a query but no path (the request line
    /// then gets `/` in front).
    pub path_and_query: &'a str,
}

/// Why a rendered URI cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadDestination {
    #[error("the scheme is not http:// or https://")]
    Scheme,
    #[error("the host is missing or has characters a host cannot have")]
    Host,
    #[error("the port is not a number from 1 to 65535")]
    Port,
    #[error("the path or query has characters a URI cannot carry")]
    Path,
}

impl<'a> Destination<'a> {
    pub fn parse(uri: &'a str) -> Result<Self, BadDestination> {
        let (tls, rest) = if let Some(rest) = strip_prefix_ignore_case(uri, "https://") {
            (true, rest)
        } else if let Some(rest) = strip_prefix_ignore_case(uri, "http://") {
            (false, rest)
        } else {
            return Err(BadDestination::Scheme);
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (written, after) = rest.split_at(end);
        let authority = written.rsplit_once('@').map_or(written, |(_, a)| a);
        let (host, port) = split_host_port(authority)?;
        let port = match port {
            None => {
                if tls {
                    443
                } else {
                    80
                }
            }
            Some(digits) => parse_port(digits)?,
        };
        // The fragment never goes on the wire.
        let path_and_query = after.split_once('#').map_or(after, |(p, _)| p);
        if !path_and_query.bytes().all(is_target_byte) {
            return Err(BadDestination::Path);
        }
        let path_and_query = if path_and_query.is_empty() {
            "/"
        } else {
            path_and_query
        };
        Ok(Self {
            tls,
            authority,
            host,
            port,
            path_and_query,
        })
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), BadDestination> {
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (inside, after) = bracketed.split_once(']').ok_or(BadDestination::Host)?;
        if inside.is_empty()
            || !inside
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return Err(BadDestination::Host);
        }
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or(BadDestination::Host)?),
        };
        (inside, port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let valid_name =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'%' | b':');
    if host.is_empty() || !host.bytes().all(valid_name) {
        return Err(BadDestination::Host);
    }
    Ok((host, port))
}

fn parse_port(digits: &str) -> Result<u16, BadDestination> {
    if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BadDestination::Port);
    }
    match digits.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(BadDestination::Port),
    }
}

/// Visible ASCII: what a request target may hold (RFC 9112 §3.2 with the
/// leniency `http::Uri` has for `{`, `}`, `|` and the like).
fn is_target_byte(b: u8) -> bool {
    (0x21..=0x7e).contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dest(uri: &str) -> Destination<'_> {
        Destination::parse(uri).unwrap_or_else(|e| panic!("{uri}: {e}"))
    }

    #[test]
    fn splits_scheme_authority_and_target() {
        let d = dest("http://backend:8080/pets/1?x=1&y");
        assert_eq!(
            d,
            Destination {
                tls: false,
                authority: "backend:8080",
                host: "backend",
                port: 8080,
                path_and_query: "/pets/1?x=1&y",
            }
        );
        let d = dest("HTTPS://user:pw@[::1]:8443/x#frag");
        assert!(d.tls);
        assert_eq!(
            (d.authority, d.host, d.port, d.path_and_query),
            ("[::1]:8443", "::1", 8443, "/x")
        );
        let d = dest("https://api.example.com");
        assert_eq!(
            (d.authority, d.port, d.path_and_query),
            ("api.example.com", 443, "/")
        );
        assert_eq!(dest("http://10.0.0.1/").port, 80);
        assert_eq!(dest("http://h/a%20b/{x}|y").path_and_query, "/a%20b/{x}|y");
        assert_eq!(dest("http://h?x=1").path_and_query, "?x=1");
    }

    #[test]
    fn refuses_what_would_break_the_request_line() {
        for (uri, why) in [
            ("ftp://h/x", BadDestination::Scheme),
            ("/relative", BadDestination::Scheme),
            ("http:///x", BadDestination::Host),
            ("http://h st/x", BadDestination::Host),
            ("http://h:0/x", BadDestination::Port),
            ("http://h:70000/x", BadDestination::Port),
            ("http://h:/x", BadDestination::Port),
            ("http://[zz]/x", BadDestination::Host),
            ("http://h/a b", BadDestination::Path),
            ("http://h/a\r\nX-Evil: 1", BadDestination::Path),
            ("http://h/caf\u{e9}", BadDestination::Path),
        ] {
            assert_eq!(Destination::parse(uri), Err(why), "{uri}");
        }
    }
}
