//! `$util`: the helper functions AWS gives mapping templates.
//!
//! - `escapeJavaScript(s)`: JavaScript string escaping as Apache Commons
//!   Lang does it for AWS: `"` `'` `\` `/` get a backslash, control
//!   characters their short escapes or `\u00XX`, and every non-ASCII
//!   character `\uXXXX` (UTF-16 units, upper-case hex). As in AWS, `'`
//!   becomes `\'`, which is not valid inside JSON strings.
//! - `parseJson(s)`: the JSON text as a value (objects become maps).
//! - `urlEncode(s)` / `urlDecode(s)`: `application/x-www-form-urlencoded`
//!   as Java's `URLEncoder`/`URLDecoder` (space is `+`).
//! - `base64Encode(s)` / `base64Decode(s)`: standard alphabet, padded; a
//!   decoded value that is not UTF-8 keeps replacement characters.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::fmt::Write as _;

pub fn escape_javascript(s: &str, out: &mut String) {
    // Runs of characters that need no escape are copied whole.
    let plain = |b: u8| (b' '..=b'~').contains(&b) && !matches!(b, b'"' | b'\'' | b'\\' | b'/');
    let mut rest = s;
    while !rest.is_empty() {
        let run = rest.bytes().position(|b| !plain(b)).unwrap_or(rest.len());
        out.push_str(&rest[..run]);
        rest = &rest[run..];
        let Some(c) = rest.chars().next() else { break };
        rest = &rest[c.len_utf8()..];
        escape_char(c, out);
    }
}

fn escape_char(c: char, out: &mut String) {
    match c {
        '"' => out.push_str("\\\""),
        '\'' => out.push_str("\\'"),
        '\\' => out.push_str("\\\\"),
        '/' => out.push_str("\\/"),
        '\u{8}' => out.push_str("\\b"),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\u{c}' => out.push_str("\\f"),
        '\r' => out.push_str("\\r"),
        ' '..='~' => out.push(c),
        _ => {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{:04X}", unit);
            }
        }
    }
}

pub fn url_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub fn url_decode(s: &str) -> String {
    let spaced = s.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

pub fn base64_encode(s: &str) -> String {
    STANDARD.encode(s.as_bytes())
}

/// `None` when the text is not base64.
pub fn base64_decode(s: &str) -> Option<String> {
    STANDARD
        .decode(s.trim().as_bytes())
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(s: &str) -> String {
        let mut out = String::new();
        escape_javascript(s, &mut out);
        out
    }

    #[test]
    fn escape_javascript_escapes_quotes_slashes_controls_and_non_ascii() {
        assert_eq!(esc(r#"say "hi""#), r#"say \"hi\""#);
        assert_eq!(esc("it's"), r"it\'s");
        assert_eq!(esc(r"a\b/c"), r"a\\b\/c");
        assert_eq!(esc("l1\nl2\r\tx\u{8}\u{c}"), r"l1\nl2\r\tx\b\f");
        assert_eq!(esc("\u{1}\u{1f}"), r"\u0001\u001F");
        assert_eq!(esc("é€"), r"\u00E9\u20AC");
        assert_eq!(esc("😀"), r"\uD83D\uDE00");
        assert_eq!(esc("plain text 123 <>&"), "plain text 123 <>&");
    }

    #[test]
    fn url_encoding_is_form_encoding_like_java() {
        assert_eq!(url_encode("a b&c=d/é*-._~"), "a+b%26c%3Dd%2F%C3%A9*-._%7E");
        assert_eq!(url_decode("a+b%26c%3Dd%2F%C3%A9"), "a b&c=d/é");
        assert_eq!(url_decode("100%"), "100%");
    }

    #[test]
    fn base64_round_trips_and_refuses_garbage() {
        assert_eq!(base64_encode("hello world"), "aGVsbG8gd29ybGQ=");
        assert_eq!(
            base64_decode("aGVsbG8gd29ybGQ=").as_deref(),
            Some("hello world")
        );
        assert_eq!(base64_decode("not base64!"), None);
    }
}
