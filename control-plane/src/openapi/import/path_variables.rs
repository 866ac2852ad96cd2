//! Path variables as a resource tree needs them: a variable is a whole
//! segment (`{id}`, `{proxy+}`), and the children of one resource have at
//! most one variable, so one name. OpenAPI allows more: GitHub's
//! description has `/repos/{owner}/{repo}` beside
//! `/repos/{template_owner}/{template_repo}/generate`, which AWS refuses
//! to import. Here the later spelling takes the first one's name, with a
//! warning, and everything of the route that names the variable is
//! renamed with it: the declared parameter, the integration's URI, its
//! parameter mappings and cache keys. (A template that reads the old name
//! is named in a warning: templates are code and are not rewritten.)

use super::Reader;
use crate::declarative::document::{IntegrationSpec, RouteSpec};
use std::collections::{BTreeMap, HashMap};

/// The first segment of `path` that holds a variable with other text
/// (`{base}...{head}`, `v{version}`), if any.
pub(super) fn partial_segment(path: &str) -> Option<&str> {
    path.split('/')
        .find(|segment| segment.contains(['{', '}']) && variable(segment).is_none())
}

/// The variable a whole segment is (`{id}` → `id`, `{proxy+}` →
/// `proxy+`), if it is one.
fn variable(segment: &str) -> Option<&str> {
    let name = segment.strip_prefix('{')?.strip_suffix('}')?;
    (!name.is_empty() && !name.contains(['{', '}'])).then_some(name)
}

impl Reader<'_> {
    /// Renames variables so that each resource level has one name: the one
    /// of the first route (in document order) that has a variable there.
    pub(super) fn unify_path_variables(&mut self) {
        // Resource path (with unified names) → the name of its variable child.
        let mut names: HashMap<String, String> = HashMap::new();
        for index in 0..self.spec.routes.len() {
            let path = self.spec.routes[index].path.clone();
            let mut unified = String::new();
            let mut renames: BTreeMap<String, String> = BTreeMap::new();
            for segment in path.split('/').filter(|s| !s.is_empty()) {
                let Some(name) = variable(segment) else {
                    unified.push('/');
                    unified.push_str(segment);
                    continue;
                };
                let kept = names
                    .entry(unified.clone())
                    .or_insert_with(|| name.to_owned());
                // A greedy and a plain variable are different resources:
                // the planner says so.
                if kept != name && kept.ends_with('+') == name.ends_with('+') {
                    renames.insert(
                        name.trim_end_matches('+').to_owned(),
                        kept.trim_end_matches('+').to_owned(),
                    );
                }
                unified.push_str(&format!("/{{{kept}}}"));
            }
            if renames.is_empty() {
                continue;
            }
            let at = self.origins.routes[index].clone();
            let described: Vec<String> = renames
                .iter()
                .map(|(old, new)| format!("{{{old}}} as {{{new}}}"))
                .collect();
            self.warn(
                &at,
                format!(
                    "path variables are named as their siblings' (a resource level has one variable): {}",
                    described.join(", ")
                ),
            );
            let route = &mut self.spec.routes[index];
            route.path = if unified.is_empty() {
                "/".into()
            } else {
                unified
            };
            if let Some(stale) = rename_route(route, &renames) {
                self.warn(
                    at,
                    format!("a request template reads the path variable '{stale}', which is now named otherwise; change the template"),
                );
            }
        }
    }
}

/// Renames path variables everywhere a route names them; returns an old
/// name a request template still mentions.
fn rename_route(route: &mut RouteSpec, renames: &BTreeMap<String, String>) -> Option<String> {
    let param = |name: &str| format!("method.request.path.{name}");
    let rename_key = |map: &mut BTreeMap<String, bool>| {
        for (old, new) in renames {
            if let Some(required) = map.remove(&param(old)) {
                map.insert(param(new), required);
            }
        }
    };
    rename_key(&mut route.request_parameters);
    let rename_text = |text: &mut String| {
        for (old, new) in renames {
            for (from, to) in [
                (format!("{{{old}}}"), format!("{{{new}}}")),
                (format!("{{{old}+}}"), format!("{{{new}+}}")),
                (param(old), param(new)),
            ] {
                if text.contains(&from) {
                    *text = text.replace(&from, &to);
                }
            }
        }
    };
    let (uri, mappings, cache_keys, templates) = match &mut route.integration {
        IntegrationSpec::HttpProxy {
            uri,
            request_parameters,
            cache_key_parameters,
            ..
        } => (Some(uri), request_parameters, cache_key_parameters, None),
        IntegrationSpec::Http {
            uri,
            request_parameters,
            cache_key_parameters,
            request_templates,
            ..
        }
        | IntegrationSpec::Aws {
            uri,
            request_parameters,
            cache_key_parameters,
            request_templates,
            ..
        } => (
            Some(uri),
            request_parameters,
            cache_key_parameters,
            Some(&*request_templates),
        ),
        IntegrationSpec::AwsProxy {
            uri,
            request_parameters,
            cache_key_parameters,
            ..
        } => (Some(uri), request_parameters, cache_key_parameters, None),
        IntegrationSpec::Mock {
            request_parameters,
            request_templates,
            ..
        } => {
            let templates = Some(&*request_templates);
            for value in request_parameters.values_mut() {
                rename_text(value);
            }
            return stale_in(templates, renames);
        }
    };
    if let Some(uri) = uri {
        rename_text(uri);
    }
    for value in mappings.values_mut() {
        rename_text(value);
    }
    for key in cache_keys.iter_mut() {
        rename_text(key);
    }
    stale_in(templates, renames)
}

/// An old variable name some template still mentions.
fn stale_in(
    templates: Option<&BTreeMap<String, String>>,
    renames: &BTreeMap<String, String>,
) -> Option<String> {
    let templates = templates?;
    renames
        .keys()
        .find(|old| templates.values().any(|t| t.contains(old.as_str())))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_whole_segments() {
        assert_eq!(
            partial_segment("/repos/{owner}/compare/{base}...{head}"),
            Some("{base}...{head}")
        );
        assert_eq!(partial_segment("/v{version}/x"), Some("v{version}"));
        assert_eq!(partial_segment("/a/{id}/{proxy+}"), None);
        assert_eq!(variable("{proxy+}"), Some("proxy+"));
        assert_eq!(variable("{}"), None);
    }
}
