//! From a document path (`apis[2].routes[5].integration.uri`, as the
//! server reports errors) to the line and column of that node in the YAML
//! text, so the CLI can point at the spot in the operator's file.

use serde_saphyr::granit_parser::{Event, Parser};
use std::collections::HashMap;

/// 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Where every node of a YAML document starts, by document path (a
/// mapping entry at its key).
#[derive(Debug, Default)]
pub struct Locations {
    by_path: HashMap<String, Position>,
}

enum Frame {
    /// A mapping, and the key whose value comes next (with where it is).
    Map(Option<(String, Position)>),
    /// A sequence and the index of its next item.
    Seq(usize),
}

impl Locations {
    /// Reads `text`; an unreadable document has no locations.
    pub fn of(text: &str) -> Self {
        let mut by_path = HashMap::new();
        let mut frames: Vec<Frame> = Vec::new();
        let mut paths: Vec<String> = Vec::new();
        for event in Parser::new_from_str(text) {
            let Ok((event, span)) = event else {
                break;
            };
            let here = Position {
                line: span.start.line(),
                column: span.start.col() + 1,
            };
            let opens = match &event {
                Event::MappingStart(..) => Some(true),
                Event::SequenceStart(..) => Some(false),
                Event::Scalar(..) | Event::Alias(..) => None,
                Event::MappingEnd | Event::SequenceEnd => {
                    frames.pop();
                    paths.pop();
                    continue;
                }
                _ => continue,
            };
            let parent = paths.last().cloned().unwrap_or_default();
            let (path, at) = match frames.last_mut() {
                Some(Frame::Map(key @ None)) => {
                    // A key. (A mapping or sequence as a key is not part of
                    // any document path.)
                    let name = match &event {
                        Event::Scalar(value, ..) => value.to_string(),
                        _ => String::from("?"),
                    };
                    *key = Some((name, here));
                    if let Some(is_map) = opens {
                        frames.push(if is_map {
                            Frame::Map(None)
                        } else {
                            Frame::Seq(0)
                        });
                        paths.push(format!("{parent}.?"));
                    }
                    continue;
                }
                Some(Frame::Map(key @ Some(_))) => {
                    let (name, at) = key.take().expect("matched Some");
                    let path = if parent.is_empty() {
                        name
                    } else {
                        format!("{parent}.{name}")
                    };
                    (path, at)
                }
                Some(Frame::Seq(next)) => {
                    let path = format!("{parent}[{next}]");
                    *next += 1;
                    (path, here)
                }
                None => (String::new(), here),
            };
            if !path.is_empty() {
                by_path.entry(path.clone()).or_insert(at);
            }
            if let Some(is_map) = opens {
                frames.push(if is_map {
                    Frame::Map(None)
                } else {
                    Frame::Seq(0)
                });
                paths.push(path);
            }
        }
        Self { by_path }
    }

    /// Where `path` is, or the nearest enclosing node the text has (a
    /// field the document left out is reported at its parent).
    pub fn find(&self, path: &str) -> Option<Position> {
        let mut path = path;
        loop {
            if let Some(at) = self.by_path.get(path) {
                return Some(*at);
            }
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "apis:\n  - name: a\n    routes:\n      - path: /x\n        integration: { type: MOCK, status: 200 }\n      - path: /y\n        integration:\n          type: HTTP_PROXY\n          uri: nope\n";

    #[test]
    fn finds_keys_items_and_flow_mappings() {
        let at = Locations::of(DOC);
        let pos = |p| at.find(p).map(|p| (p.line, p.column));
        assert_eq!(pos("apis"), Some((1, 1)));
        assert_eq!(pos("apis[0]"), Some((2, 5)));
        assert_eq!(pos("apis[0].routes[1].integration.uri"), Some((9, 11)));
        assert_eq!(pos("apis[0].routes[0].integration.status"), Some((5, 36)));
        // A field the document does not have: its nearest parent.
        assert_eq!(
            pos("apis[0].routes[1].integration.timeout_ms"),
            Some((7, 9))
        );
        assert_eq!(pos("apis[0].routes[0].path"), Some((4, 9)));
    }

    #[test]
    fn unknown_paths_and_unreadable_documents_have_no_location() {
        assert_eq!(Locations::of(DOC).find("plans[0]"), None);
        assert_eq!(Locations::of(DOC).find(""), None);
        // What was read before the syntax error is still located.
        let cut = Locations::of("a: 1\nb: [");
        assert_eq!(cut.find("a").map(|p| p.line), Some(1));
        assert_eq!(cut.find("c"), None);
    }
}
