//! The per-deployment route tree and its matcher.
//!
//! Precedence is AWS's: at each path segment a literal child wins over the
//! `{param}` child, which wins over a greedy `{proxy+}`; when a more specific
//! branch leads nowhere the matcher backtracks to the next. Matching walks the
//! request path in place and allocates nothing unless a route has more than
//! four path parameters.

use archway_proto::path::{PathPart, parse_part};
use smallvec::SmallVec;
use std::collections::HashMap;

/// Index of a verb in a [`MethodSet`]; `ANY` is last.
const VERBS: [&str; 8] = [
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "ANY",
];
const ANY: usize = 7;

/// The slot of a verb with one of its own (GET … OPTIONS: 0 to 6), `None`
/// for any other. Shared by route matching, the stage cache and metrics so
/// the three agree on the order.
pub fn verb_slot(method: &http::Method) -> Option<usize> {
    Some(match *method {
        http::Method::GET => 0,
        http::Method::POST => 1,
        http::Method::PUT => 2,
        http::Method::DELETE => 3,
        http::Method::PATCH => 4,
        http::Method::HEAD => 5,
        http::Method::OPTIONS => 6,
        _ => return None,
    })
}

fn verb_index(method: &str) -> Option<usize> {
    VERBS.iter().position(|v| *v == method)
}

/// Route ids per verb at one resource.
#[derive(Debug, Default, Clone)]
struct MethodSet([Option<u32>; VERBS.len()]);

impl MethodSet {
    fn get(&self, method: &http::Method) -> Option<u32> {
        verb_slot(method)
            .and_then(|slot| self.0[slot])
            .or(self.0[ANY])
    }

    fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }
}

#[derive(Debug, Default)]
struct Node {
    literals: HashMap<Box<str>, Node>,
    param: Option<(Box<str>, Box<Node>)>,
    greedy: Option<(Box<str>, MethodSet)>,
    methods: MethodSet,
}

/// Path parameters of a match: (name, raw value as in the request path).
pub type Params<'t, 'p> = SmallVec<[(&'t str, &'p str); 4]>;

/// What a lookup found.
#[derive(Debug)]
pub enum Lookup<'t, 'p> {
    Matched {
        route: u32,
        params: Params<'t, 'p>,
    },
    /// No resource matches the path.
    NoResource,
    /// A resource matches, but it has no method for this verb (nor ANY).
    NoMethod,
}

/// Routes of one deployment: a tree of path segments whose leaves hold route
/// ids, so the caller keeps its own per-route data in a plain Vec.
#[derive(Debug, Default)]
pub struct RouteTree {
    root: Node,
    len: usize,
}

impl RouteTree {
    /// Adds `method` on `path` (e.g. `/pets/{petId}`) as route `id`.
    pub fn insert(&mut self, path: &str, method: &str, id: u32) -> Result<(), String> {
        let verb = verb_index(method).ok_or_else(|| format!("unknown HTTP method '{method}'"))?;
        let mut node = &mut self.root;
        let mut parts = path.split('/').filter(|p| !p.is_empty()).peekable();
        let mut set: Option<&mut MethodSet> = None;
        while let Some(part) = parts.next() {
            match parse_part(part).map_err(|e| format!("path '{path}': {e}"))? {
                PathPart::Literal(lit) => {
                    node = node.literals.entry(lit.into()).or_default();
                }
                PathPart::Param(name) => {
                    let (existing, child) = node
                        .param
                        .get_or_insert_with(|| (name.into(), Box::default()));
                    if &**existing != name {
                        return Err(format!(
                            "path '{path}': parameter {{{name}}} conflicts with sibling {{{existing}}}"
                        ));
                    }
                    node = child;
                }
                PathPart::Greedy(name) => {
                    if parts.peek().is_some() {
                        return Err(format!("path '{path}': {{{name}+}} must be the last part"));
                    }
                    let (existing, methods) = node
                        .greedy
                        .get_or_insert_with(|| (name.into(), MethodSet::default()));
                    if &**existing != name {
                        return Err(format!(
                            "path '{path}': greedy {{{name}+}} conflicts with sibling {{{existing}+}}"
                        ));
                    }
                    set = Some(methods);
                    break;
                }
            }
        }
        let set = match set {
            Some(set) => set,
            None => &mut node.methods,
        };
        if set.0[verb].replace(id).is_some() {
            return Err(format!("method {method} on '{path}' is defined twice"));
        }
        self.len += 1;
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Finds the route for `method` on `path` (the request path after the
    /// stage, starting with '/').
    pub fn lookup<'t, 'p>(&'t self, method: &http::Method, path: &'p str) -> Lookup<'t, 'p> {
        let mut params = Params::new();
        match find(&self.root, path, &mut params) {
            None => Lookup::NoResource,
            Some(set) => match set.get(method) {
                Some(route) => Lookup::Matched { route, params },
                None => Lookup::NoMethod,
            },
        }
    }
}

/// Depth-first search in precedence order; returns the methods of the most
/// specific resource that matches the whole path and has any method.
fn find<'t, 'p>(
    node: &'t Node,
    path: &'p str,
    params: &mut Params<'t, 'p>,
) -> Option<&'t MethodSet> {
    let rest = path.trim_start_matches('/');
    if rest.is_empty() {
        return (!node.methods.is_empty()).then_some(&node.methods);
    }
    let (segment, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if let Some(child) = node.literals.get(segment)
        && let Some(found) = find(child, tail, params)
    {
        return Some(found);
    }
    if let Some((name, child)) = &node.param {
        params.push((name, segment));
        if let Some(found) = find(child, tail, params) {
            return Some(found);
        }
        params.pop();
    }
    if let Some((name, methods)) = &node.greedy
        && !methods.is_empty()
    {
        params.push((name, rest));
        return Some(methods);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    fn tree(routes: &[(&str, &str)]) -> RouteTree {
        let mut t = RouteTree::default();
        for (i, (path, method)) in routes.iter().enumerate() {
            t.insert(path, method, i as u32).unwrap();
        }
        t
    }

    fn matched(t: &RouteTree, method: Method, path: &str) -> Option<(u32, Vec<(String, String)>)> {
        match t.lookup(&method, path) {
            Lookup::Matched { route, params } => Some((
                route,
                params
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )),
            _ => None,
        }
    }

    #[test]
    fn literal_beats_param_beats_greedy() {
        let t = tree(&[
            ("/pets/mine", "GET"),
            ("/pets/{id}", "GET"),
            ("/{proxy+}", "ANY"),
            ("/", "GET"),
        ]);
        assert_eq!(matched(&t, Method::GET, "/pets/mine").unwrap().0, 0);
        let (route, params) = matched(&t, Method::GET, "/pets/7").unwrap();
        assert_eq!(route, 1);
        assert_eq!(params, [("id".to_string(), "7".to_string())]);
        let (route, params) = matched(&t, Method::POST, "/pets/7/toys/").unwrap();
        assert_eq!(route, 2);
        assert_eq!(params, [("proxy".to_string(), "pets/7/toys/".to_string())]);
        assert_eq!(matched(&t, Method::GET, "/").unwrap().0, 3);
    }

    #[test]
    fn backtracks_when_the_literal_branch_dead_ends() {
        let t = tree(&[("/a/b/c", "GET"), ("/a/{x}/d", "GET")]);
        let (route, params) = matched(&t, Method::GET, "/a/b/d").unwrap();
        assert_eq!(route, 1);
        assert_eq!(params, [("x".to_string(), "b".to_string())]);
    }

    #[test]
    fn any_answers_verbs_without_their_own_method() {
        let t = tree(&[("/x", "GET"), ("/x", "ANY")]);
        assert_eq!(matched(&t, Method::GET, "/x").unwrap().0, 0);
        assert_eq!(matched(&t, Method::DELETE, "/x").unwrap().0, 1);
    }

    #[test]
    fn distinguishes_missing_resource_from_missing_method() {
        let t = tree(&[("/x", "GET")]);
        assert!(matches!(t.lookup(&Method::POST, "/x"), Lookup::NoMethod));
        assert!(matches!(t.lookup(&Method::GET, "/y"), Lookup::NoResource));
        assert!(matches!(t.lookup(&Method::GET, "/"), Lookup::NoResource));
        // A greedy part needs at least one segment.
        let t = tree(&[("/{proxy+}", "ANY")]);
        assert!(matches!(t.lookup(&Method::GET, "/"), Lookup::NoResource));
    }

    #[test]
    fn refuses_conflicting_definitions() {
        let mut t = RouteTree::default();
        t.insert("/a/{x}", "GET", 0).unwrap();
        assert!(t.insert("/a/{y}", "GET", 1).is_err());
        assert!(t.insert("/a/{x}", "GET", 2).is_err());
        assert!(t.insert("/b/{p+}/c", "GET", 3).is_err());
        assert!(t.insert("/c", "FETCH", 4).is_err());
    }
}
