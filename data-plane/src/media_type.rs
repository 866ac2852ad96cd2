//! Media types of `Content-Type` and `Accept` entries, compared the one
//! way every table keyed by media type is: without parameters, ignoring
//! case. Keys are lowered once at compile ([`key`]); a request's value is
//! only cut ([`media_type`]) and compared with `eq_ignore_ascii_case`, so
//! choosing a model or template allocates nothing.

/// The media type of a `Content-Type` value or one `Accept` entry, as
/// written: trimmed, without parameters (`Application/JSON; charset=utf-8`
/// → `Application/JSON`).
pub fn media_type(value: &str) -> &str {
    value.split(';').next().unwrap_or_default().trim()
}

/// A media type as a table key: [`media_type`], lower case.
pub fn key(value: &str) -> Box<str> {
    media_type(value).to_ascii_lowercase().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_lose_parameters_and_keys_lose_case() {
        assert_eq!(
            media_type("Application/JSON; charset=UTF-8"),
            "Application/JSON"
        );
        assert_eq!(&*key("Application/JSON; charset=UTF-8"), "application/json");
        assert_eq!(media_type(" text/plain "), "text/plain");
        assert_eq!(&*key(" Text/Plain "), "text/plain");
        assert_eq!(media_type(""), "");
        assert_eq!(&*key(""), "");
    }
}
