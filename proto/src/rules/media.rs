//! Media types (template and model keys, binary media types) and the HTTP
//! status codes methods and gateway responses answer with.

use super::http::is_token;
use super::{Checked, Violation};

/// A concrete media type, `type/subtype` (parameters such as
/// `;charset=utf-8` are not part of a key): what template and model maps
/// are keyed by.
pub fn media_type(field: &str, value: &str) -> Checked {
    match value.split_once('/') {
        Some((t, s)) if is_token(t) && is_token(s) && !t.contains('*') && !s.contains('*') => {
            Ok(())
        }
        _ => Err(Violation::new(
            field,
            format!("'{value}' is not a media type (type/subtype, e.g. application/json)"),
        )),
    }
}

/// Media types are case-insensitive (RFC 9110), and the node lowercases
/// the keys of template and model maps: two keys that differ only in case
/// (`Application/JSON` and `application/json`) would leave one of them
/// silently unused, so the second is refused naming the first. `entry`
/// gives a key's field.
pub fn keys_once_ignoring_case<'a>(
    entry: impl Fn(&str) -> String,
    keys: impl IntoIterator<Item = &'a String>,
) -> Checked {
    let mut seen: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    for key in keys {
        if let Some(first) = seen.insert(key.to_ascii_lowercase(), key) {
            return Err(Violation::new(
                entry(key),
                format!("'{key}' repeats '{first}' (media types ignore case); keep one"),
            ));
        }
    }
    Ok(())
}

/// A binary media type pattern, as AWS's binaryMediaTypes: `type/subtype`
/// where either part may be `*` (`image/*`, `*/*`).
pub fn media_type_pattern(field: &str, value: &str) -> Checked {
    let part_ok = |p: &str| p == "*" || (is_token(p) && !p.contains('*'));
    match value.split_once('/') {
        Some((t, s)) if part_ok(t) && part_ok(s) && !(t == "*" && s != "*") => Ok(()),
        _ => Err(Violation::new(
            field,
            format!("'{value}' is not a media type pattern (type/subtype, image/* or */*)"),
        )),
    }
}

/// An HTTP status code as AWS writes it in method and integration
/// responses: three digits, 100 to 599.
pub fn status_code(field: &str, value: &str) -> Checked<u16> {
    match value.parse::<u16>() {
        Ok(code) if value.len() == 3 && (100..=599).contains(&code) => Ok(code),
        _ => Err(Violation::new(
            field,
            format!("'{value}' is not an HTTP status code (100 to 599)"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_and_patterns() {
        for ok in ["application/json", "text/plain", "application/vnd.api+json"] {
            assert!(media_type("f", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "json",
            "application/",
            "/json",
            "a/b/c",
            "*/*",
            "text/*",
            "a b/c",
        ] {
            assert_eq!(media_type("f", bad).unwrap_err().field, "f", "{bad}");
        }
        for ok in ["image/png", "image/*", "*/*", "application/octet-stream"] {
            assert!(media_type_pattern("f", ok).is_ok(), "{ok}");
        }
        for bad in ["", "*", "*/png", "image/p*g", "image"] {
            assert!(media_type_pattern("f", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn status_codes() {
        assert_eq!(status_code("s", "200").unwrap(), 200);
        for bad in ["", "99", "600", "2000", "20x", "+200", "099"] {
            assert!(status_code("s", bad).is_err(), "{bad}");
        }
    }
}
