//! `$ref`s: followed within the document (`#/...`, percent-decoded, chains
//! of them), refused when they point outside it (another file or URL: an
//! import reads one document and fetches nothing).

use super::{Problem, Reader};
use serde_json::Value;

/// How many `$ref`s one chain may follow (a cycle of references that never
/// reaches a value ends here).
const MAX_CHAIN: usize = 32;

impl<'d> Reader<'d> {
    /// `value` itself, or what its `$ref` (chain) points to, with the
    /// pointer of what is returned. Errors (recorded) for a reference that
    /// leaves the document, points nowhere or loops.
    pub(super) fn resolve<'v>(&mut self, value: &'v Value, at: &str) -> Option<(&'v Value, String)>
    where
        'd: 'v,
    {
        match follow(self.doc, value, at) {
            Ok(found) => Some(found),
            Err(problem) => {
                self.errors.push(problem);
                None
            }
        }
    }
}

/// The `$ref` of a reference object, if `value` is one.
pub(super) fn reference(value: &Value) -> Option<&str> {
    value.get("$ref").and_then(Value::as_str)
}

/// Follows `value`'s `$ref`s in `doc`.
pub(super) fn follow<'v>(
    doc: &'v Value,
    value: &'v Value,
    at: &str,
) -> Result<(&'v Value, String), Problem> {
    let mut current = value;
    let mut pointer = at.to_owned();
    for _ in 0..MAX_CHAIN {
        let Some(target) = reference(current) else {
            return Ok((current, pointer));
        };
        let problem = |message: String| Problem {
            pointer: format!("{pointer}/$ref"),
            message,
        };
        let Some(fragment) = target.strip_prefix('#') else {
            return Err(problem(format!(
                "'{target}' is outside this document; an import reads one document and fetches nothing: put what it points to in the document (e.g. under components) and refer to it with '#/...'"
            )));
        };
        let decoded = percent_encoding::percent_decode_str(fragment)
            .decode_utf8()
            .map_err(|_| problem(format!("'{target}' is not UTF-8 once decoded")))?;
        let found = doc
            .pointer(&decoded)
            .ok_or_else(|| problem(format!("'{target}' points to nothing in this document")))?;
        current = found;
        pointer = decoded.into_owned();
    }
    Err(Problem {
        pointer: format!("{at}/$ref"),
        message: format!("references lead to references more than {MAX_CHAIN} times (a cycle?)"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_are_followed_within_the_document_only() {
        let doc = json!({
            "components": {"parameters": {
                "id": {"name": "id", "in": "path"},
                "alias": {"$ref": "#/components/parameters/id"},
                "loop": {"$ref": "#/components/parameters/loop"},
                "a b": {"name": "spaced"}
            }},
            "x": [{"$ref": "#/components/parameters/alias"}, {"$ref": "other.yaml#/x"},
                  {"$ref": "#/nowhere"}, {"$ref": "#/components/parameters/loop"},
                  {"$ref": "#/components/parameters/a%20b"}]
        });
        let (found, at) = follow(&doc, &doc["x"][0], "/x/0").unwrap();
        assert_eq!(found["name"], "id");
        assert_eq!(at, "/components/parameters/id");
        let err = follow(&doc, &doc["x"][1], "/x/1").unwrap_err();
        assert_eq!(err.pointer, "/x/1/$ref");
        assert!(err.message.contains("outside this document"), "{err}");
        assert!(
            follow(&doc, &doc["x"][2], "/x/2")
                .unwrap_err()
                .message
                .contains("nothing")
        );
        assert!(
            follow(&doc, &doc["x"][3], "/x/3")
                .unwrap_err()
                .message
                .contains("cycle")
        );
        assert_eq!(
            follow(&doc, &doc["x"][4], "/x/4").unwrap().0["name"],
            "spaced"
        );
    }
}
