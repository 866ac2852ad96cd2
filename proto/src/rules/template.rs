//! Mapping templates (AWS's Velocity dialect): every template the admin
//! API accepts must parse, so a node never meets one it cannot compile.

use super::names::max_len;
use super::{Checked, Violation};
use std::collections::BTreeMap;

/// Largest mapping template, in bytes (AWS's limit is 300 KB for the whole
/// API definition; one template rarely passes a few KB).
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;

/// One template: not too large, parses with
/// [`crate::template::Template::parse`] (the refusal reads "does not
/// parse: line L, column C: reason"), and sets no header the gateway owns
/// through an override ([`crate::rules::http::reserved_header`]: `Host`,
/// `Content-Length`, `Transfer-Encoding`, `Connection` and the other
/// hop-by-hop headers), as AWS refuses them. The node still drops such a
/// header at run time (a name computed by the template is only known
/// then), but one written in the template is refused here, with its place.
pub fn template(field: &str, text: &str) -> Checked {
    max_len(field, text, MAX_TEMPLATE_BYTES)?;
    let parsed = crate::template::Template::parse(text)
        .map_err(|e| Violation::new(field, format!("does not parse: {e}")))?;
    for header in parsed.override_headers() {
        if let Some(reason) = crate::rules::http::reserved_header(header.name) {
            let which = if header.response {
                "responseOverride"
            } else {
                "requestOverride"
            };
            return Err(Violation::new(
                field,
                format!(
                    "line {}, column {}: $context.{which}.header sets {reason}",
                    header.line, header.column
                ),
            ));
        }
    }
    Ok(())
}

/// Who parses the templates (and compiles the selection patterns) of what
/// is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Parsing {
    /// The check does: the admin API, which keeps nothing it parses.
    Here,
    /// The caller's compiler does, and refuses with the parser's own error:
    /// the node, which would otherwise parse each template (up to
    /// [`MAX_TEMPLATE_BYTES`]) once to check it and again to keep it.
    ByCompiler,
}

/// A map of media type -> template (request, response or gateway response
/// templates); each refusal names the entry: `field["application/json"]`.
pub fn templates(field: &str, templates: &BTreeMap<String, String>) -> Checked {
    templates_parsed(field, templates, Parsing::Here)
}

/// [`templates`], parsing each template only if `parsing` says so (its
/// size is checked either way).
pub(super) fn templates_parsed(
    field: &str,
    templates: &BTreeMap<String, String>,
    parsing: Parsing,
) -> Checked {
    super::media::keys_once_ignoring_case(|key| format!("{field}[\"{key}\"]"), templates.keys())?;
    for (media_type, text) in templates {
        let entry = format!("{field}[\"{media_type}\"]");
        super::media::media_type(&entry, media_type)?;
        match parsing {
            Parsing::Here => template(&entry, text)?,
            Parsing::ByCompiler => max_len(&entry, text, MAX_TEMPLATE_BYTES)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_that_does_not_parse_is_refused_with_its_place() {
        let v = template("requestTemplates", "{\n  #if($x)\n}").unwrap_err();
        assert_eq!(v.field, "requestTemplates");
        assert!(
            v.reason
                .starts_with("does not parse: line 3, column 2: expected #end to close the #if at line 2, column 3"),
            "{}",
            v.reason
        );
        assert!(template("requestTemplates", "{\"a\": \"$input.path('$.a')\"}").is_ok());
    }

    /// Framing and hop-by-hop headers cannot be set by an override, in any
    /// way the template can name them literally, nested or not; other
    /// headers, and reading the reserved ones, stay allowed.
    #[test]
    fn an_override_of_a_reserved_header_is_refused_with_its_place() {
        for (text, line, column) in [
            ("#set($context.requestOverride.header.Host = 'evil')", 1, 1),
            (
                "{}\n#set($context.responseOverride.header.Content-Length = '1')",
                2,
                1,
            ),
            (
                "#if(true)\n  #set($context.requestOverride.header['Transfer-Encoding'] = 'chunked')\n#end",
                2,
                3,
            ),
            (
                "#foreach($x in [1])#set($context.responseOverride.header[\"connection\"] = 'close')#end",
                1,
                20,
            ),
            (
                "#set($context.requestOverride.header.Proxy-Authorization = 'x')",
                1,
                1,
            ),
            (
                "#set($context.responseOverride.header.Keep-Alive = 'x')",
                1,
                1,
            ),
        ] {
            let v = template("requestTemplates", text).unwrap_err();
            assert_eq!(v.field, "requestTemplates", "{text}");
            assert!(
                v.reason
                    .starts_with(&format!("line {line}, column {column}: $context.")),
                "{text}: {}",
                v.reason
            );
            assert!(v.reason.contains("is reserved"), "{text}: {}", v.reason);
        }
        for ok in [
            "#set($context.requestOverride.header.X-Host = 'a')",
            "#set($context.responseOverride.header.Content-Type = 'text/plain')",
            "#set($context.requestOverride.querystring.host = 'a')",
            "$input.params('Host') $context.requestOverride.header.Host",
        ] {
            assert_eq!(template("requestTemplates", ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn each_entry_of_a_template_map_is_checked() {
        let mut map = BTreeMap::new();
        map.insert("application/json".to_string(), "#set($a = )".to_string());
        let v = templates("requestTemplates", &map).unwrap_err();
        assert_eq!(v.field, "requestTemplates[\"application/json\"]");
    }

    #[test]
    fn template_keys_that_differ_only_in_case_are_duplicates() {
        let map: BTreeMap<String, String> = [
            ("Application/JSON".to_string(), "{}".to_string()),
            ("application/json".to_string(), "{}".to_string()),
        ]
        .into();
        let v = templates("requestTemplates", &map).unwrap_err();
        assert_eq!(v.field, "requestTemplates[\"application/json\"]");
        assert!(v.reason.contains("'Application/JSON'"), "{}", v.reason);
    }
}
