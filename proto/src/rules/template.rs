//! Mapping templates (AWS's Velocity dialect): every template the admin
//! API accepts must parse, so a node never meets one it cannot compile.

use super::Checked;
use super::names::max_len;
use std::collections::BTreeMap;

/// Largest mapping template, in bytes (AWS's limit is 300 KB for the whole
/// API definition; one template rarely passes a few KB).
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;

/// One template: not too large, and parses.
///
/// The parse itself is `archway_proto::template::Template::parse` (H1's
/// engine, issue 14). CALL SITE: until that module is on main, only the
/// size is checked here; when it lands, add after the size check
/// `crate::template::Template::parse(text).map(|_| ()).map_err(|e|
/// Violation::new(field, format!("does not parse: {e}")))` (its error
/// reads "line L, column C: reason").
pub fn template(field: &str, text: &str) -> Checked {
    max_len(field, text, MAX_TEMPLATE_BYTES)
}

/// A map of media type -> template (request, response or gateway response
/// templates); each refusal names the entry: `field["application/json"]`.
pub fn templates(field: &str, templates: &BTreeMap<String, String>) -> Checked {
    for (media_type, text) in templates {
        let entry = format!("{field}[\"{media_type}\"]");
        super::media::media_type(&entry, media_type)?;
        template(&entry, text)?;
    }
    Ok(())
}
