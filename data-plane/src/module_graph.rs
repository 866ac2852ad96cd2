//! A test that keeps the crate's modules free of cycles: no top-level
//! module imports (by a `crate::` path) a module that imports it back,
//! however long the way round. Leaf modules (HTTP rules, body and
//! principal types, the route tree) stay at the bottom, the stages above
//! them, the driver on top; a cycle would make each side's tests and
//! changes depend on the other.
//!
//! The graph is read from the sources themselves: every `crate::name` (and
//! `crate::{a, b}`) outside a comment in `src/<name>.rs` or `src/<name>/`
//! is an edge from that file's top-level module. Test code counts too: a
//! test that needs a module above its own is a sign the module sits in the
//! wrong place.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Top-level modules named in `text` by `crate::` paths.
fn crate_paths(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let code: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        let after = &rest[at + "crate::".len()..];
        rest = after;
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        if let Some(group) = after.strip_prefix('{') {
            // `crate::{a, b::c, d}`: the first name of each item.
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        item_start = false;
                        found.insert(ident(&group[i..]));
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(ident(after));
        }
    }
    found.remove("");
    found
}

/// The graph of `src`'s top-level modules (`lib.rs` and the binaries,
/// which sit above everything, are left out).
fn module_graph(src: &Path) -> Graph {
    fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("a readable source dir") {
            let path = entry.expect("a readable entry").path();
            if path.is_dir() {
                files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut modules = BTreeSet::new();
    for entry in std::fs::read_dir(src).expect("a readable src") {
        let path = entry.expect("a readable entry").path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let rust = path.extension().is_some_and(|e| e == "rs");
        if name != "lib" && name != "bin" && (path.is_dir() || rust) {
            modules.insert(name);
        }
    }
    let mut graph = Graph::new();
    let mut all = Vec::new();
    files(src, &mut all);
    for file in all {
        let relative = file.strip_prefix(src).unwrap();
        let top = relative.iter().next().unwrap().to_string_lossy();
        let top = top.strip_suffix(".rs").unwrap_or(&top).to_owned();
        if !modules.contains(&top) {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("a readable source file");
        let targets = graph.entry(top.clone()).or_default();
        for target in crate_paths(&text) {
            if target != top && modules.contains(&target) {
                targets.insert(target);
            }
        }
    }
    graph
}

/// A cycle in `graph`, as the modules along it (the first repeated last).
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        OnPath,
        Done,
    }
    fn visit(
        node: &str,
        graph: &Graph,
        state: &mut BTreeMap<String, State>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), State::OnPath);
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(State::OnPath) => {
                    let from = path.iter().position(|n| n == next).unwrap();
                    let mut cycle = path[from..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(State::Done) => {}
                None => {
                    if let Some(cycle) = visit(next, graph, state, path) {
                        return Some(cycle);
                    }
                }
            }
        }
        path.pop();
        state.insert(node.to_owned(), State::Done);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if !state.contains_key(node.as_str())
            && let Some(cycle) = visit(node, graph, &mut state, &mut Vec::new())
        {
            return Some(cycle);
        }
    }
    None
}

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = module_graph(&src);
    // The reader must see the crate, or the check proves nothing.
    assert!(
        graph["pipeline"].contains("tables") && graph["node"].contains("pipeline"),
        "{graph:?}"
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!("module cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn crate_paths_are_read_in_every_spelling() {
    let text = "use crate::tables::{A, B};\n\
                use crate::{admin, server::Thing, limits::{x, y}};\n\
                // use crate::commented;\n\
                let x = crate::upstream::Upstream::new();\n\
                let y = archway_crate::not_ours;\n\
                use crate::{\n    apply,\n    disk,\n};\n";
    let found: Vec<String> = crate_paths(text).into_iter().collect();
    assert_eq!(
        found,
        [
            "admin", "apply", "disk", "limits", "server", "tables", "upstream"
        ]
    );
}

#[test]
fn finds_a_cycle_however_long() {
    let graph: Graph = [
        ("a", &["b"][..]),
        ("b", &["c"][..]),
        ("c", &["d", "e"][..]),
        ("e", &["b"][..]),
    ]
    .into_iter()
    .map(|(n, to)| (n.to_owned(), to.iter().map(|t| (*t).to_owned()).collect()))
    .collect();
    assert_eq!(find_cycle(&graph).unwrap(), ["b", "c", "e", "b"]);
    let mut acyclic = graph.clone();
    acyclic.remove("e");
    assert_eq!(find_cycle(&acyclic), None);
}
