//! Integration URI templates: `http://${stageVariables.host}/pets/{petId}`.
//!
//! `{name}` is replaced by the path parameter of that name, `${stageVariables.name}`
//! by the stage variable. The control plane parses templates to refuse bad
//! ones; the data plane parses them once per deployment and renders them per
//! request without parsing again.
//!
//! Threat: a path parameter is the caller's text. Placed in the scheme or
//! authority (`http://{host}/`, `http://${stageVariables.h}{port}/`) it
//! would let any caller pick the backend, so the control plane refuses such
//! templates ([`UriTemplate::path_param_in_authority`]); stage variables may
//! sit there, the operator sets them. And since a stage variable can hold a
//! whole `scheme://host` the template cannot show, the node checks each
//! rendered URI too ([`UriTemplate::render`] says where the first parameter
//! went, [`authority_end`] where the authority ends): a value such as
//! `@evil`, `:1` or `evil/` that would land in the authority is refused.

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Literal(String),
    PathParam(String),
    StageVariable(String),
}

/// A parsed URI template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriTemplate {
    pieces: Vec<Piece>,
    /// Sum of the literal lengths, to size the output buffer once.
    literal_len: usize,
}

impl UriTemplate {
    /// Parses a template, saying why when it is not valid.
    pub fn parse(template: &str) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = template;
        while let Some(c) = rest.chars().next() {
            if let Some(after) = rest.strip_prefix("${") {
                let end = after
                    .find('}')
                    .ok_or_else(|| format!("'${{' at '{rest}' is not closed with '}}'"))?;
                let expr = &after[..end];
                let name = expr.strip_prefix("stageVariables.").ok_or_else(|| {
                    format!("'${{{expr}}}' is not supported; use ${{stageVariables.name}}")
                })?;
                check_name(name)?;
                flush(&mut literal, &mut pieces);
                pieces.push(Piece::StageVariable(name.to_owned()));
                rest = &after[end + 1..];
            } else if let Some(after) = rest.strip_prefix('{') {
                let end = after
                    .find('}')
                    .ok_or_else(|| format!("'{{' at '{rest}' is not closed with '}}'"))?;
                let name = &after[..end];
                check_name(name)?;
                flush(&mut literal, &mut pieces);
                pieces.push(Piece::PathParam(name.to_owned()));
                rest = &after[end + 1..];
            } else if c == '}' {
                return Err(format!("unexpected '}}' at '{rest}'"));
            } else {
                literal.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
        flush(&mut literal, &mut pieces);
        let literal_len = pieces
            .iter()
            .map(|p| match p {
                Piece::Literal(s) => s.len(),
                _ => 0,
            })
            .sum();
        Ok(Self {
            pieces,
            literal_len,
        })
    }

    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// The path parameters the template uses.
    pub fn path_params(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::PathParam(n) => Some(n.as_str()),
            _ => None,
        })
    }

    /// The first path parameter placed where it would be part of the
    /// scheme or the authority: before the first `/`, `?` or `#` that
    /// follows `://`; when a stage variable supplies the scheme, that `//`
    /// may follow the variable (`${stageVariables.scheme}//{p}`), and
    /// without either, before the first delimiter at all. None: every
    /// parameter is in the path, query or fragment. A stage variable can
    /// still hide the authority's end (`http:/` before `/{p}`); the node's
    /// check of each rendered URI ([`params_stay_out_of_authority`])
    /// catches that.
    pub fn path_param_in_authority(&self) -> Option<&str> {
        let mut seen = String::with_capacity(self.literal_len + 8);
        for piece in &self.pieces {
            match piece {
                Piece::Literal(s) => seen.push_str(s),
                // Stand-ins that are none of the delimiters looked for.
                Piece::StageVariable(_) => seen.push('$'),
                Piece::PathParam(name) => {
                    let authority_start = seen
                        .find("://")
                        .map(|i| i + 3)
                        .or_else(|| seen.find("$//").map(|i| i + 3))
                        .or_else(|| seen.starts_with("//").then_some(2))
                        .unwrap_or(0);
                    let after_scheme = &seen[authority_start..];
                    if !after_scheme.contains(['/', '?', '#']) {
                        return Some(name);
                    }
                    seen.push('$');
                }
            }
        }
        None
    }

    /// Renders the template into `out` and returns the offset in `out` at
    /// which the first path parameter's value starts (None: the template
    /// has none). A missing path parameter or stage variable renders as the
    /// empty string, as in AWS.
    pub fn render<'a>(
        &self,
        out: &mut String,
        path_param: impl Fn(&str) -> Option<&'a str>,
        stage_variable: impl Fn(&str) -> Option<&'a str>,
    ) -> Option<usize> {
        out.reserve(self.literal_len + 32);
        let mut first_param = None;
        for piece in &self.pieces {
            match piece {
                Piece::Literal(s) => out.push_str(s),
                Piece::PathParam(n) => {
                    first_param.get_or_insert(out.len());
                    out.push_str(path_param(n).unwrap_or(""));
                }
                Piece::StageVariable(n) => out.push_str(stage_variable(n).unwrap_or("")),
            }
        }
        first_param
    }
}

/// Where the authority of a rendered URI ends: the offset of the first `/`,
/// `?` or `#` after `://`, or the length when there is none; None without
/// a `://`. The rule is the one the node's backend client splits URIs by,
/// so text after this offset can never change the host or port.
pub fn authority_end(uri: &str) -> Option<usize> {
    let start = uri.find("://")? + 3;
    Some(
        uri[start..]
            .find(['/', '?', '#'])
            .map_or(uri.len(), |i| start + i),
    )
}

/// Whether a URI rendered by [`UriTemplate::render`], whose first path
/// parameter started at `first_param`, kept every parameter out of the
/// scheme and authority: the authority must be closed (by a delimiter the
/// template or a stage variable put there) before the first parameter.
pub fn params_stay_out_of_authority(uri: &str, first_param: Option<usize>) -> bool {
    match first_param {
        None => true,
        Some(at) => authority_end(uri).is_some_and(|end| end < at),
    }
}

fn flush(literal: &mut String, pieces: &mut Vec<Piece>) {
    if !literal.is_empty() {
        pieces.push(Piece::Literal(std::mem::take(literal)));
    }
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty name between braces".into());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(format!("name '{name}' has '{bad}'"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_params_and_stage_variables() {
        let t = UriTemplate::parse("http://${stageVariables.host}/pets/{petId}/{proxy}").unwrap();
        let mut out = String::new();
        t.render(
            &mut out,
            |n| match n {
                "petId" => Some("7"),
                "proxy" => Some("a/b"),
                _ => None,
            },
            |n| (n == "host").then_some("127.0.0.1:9"),
        );
        assert_eq!(out, "http://127.0.0.1:9/pets/7/a/b");
        assert_eq!(t.path_params().collect::<Vec<_>>(), ["petId", "proxy"]);
    }

    #[test]
    fn missing_values_render_empty() {
        let t = UriTemplate::parse("http://h/${stageVariables.v}x{p}").unwrap();
        let mut out = String::new();
        t.render(&mut out, |_| None, |_| None);
        assert_eq!(out, "http://h/x");
    }

    #[test]
    fn path_params_may_not_sit_in_the_scheme_or_authority() {
        for (template, param) in [
            ("http://{host}/x", Some("host")),
            ("http://{host}.internal/x", Some("host")),
            ("http://h:{port}/x", Some("port")),
            ("http://{user}@h/x", Some("user")),
            ("{scheme}://h/x", Some("scheme")),
            ("http://${stageVariables.h}{p}/x", Some("p")),
            ("http://${stageVariables.h}{p}", Some("p")),
            ("${stageVariables.base}{proxy}", Some("proxy")),
            ("${stageVariables.base}://{p}/", Some("p")),
            ("${stageVariables.scheme}//{p}/x", Some("p")),
            ("//{p}/x", Some("p")),
            ("http://h/ok/{a}", None),
            ("http://h?q={a}", None),
            ("http://h#{a}", None),
            ("http://${stageVariables.h}/{p}", None),
            ("${stageVariables.base}/{proxy}", None),
            (
                "https://${stageVariables.h}:${stageVariables.port}/{p}/{q}",
                None,
            ),
            ("http://h/{a}/{b}", None),
            ("http://h/a//{b}", None),
            ("${stageVariables.base}/a/{p}", None),
        ] {
            let t = UriTemplate::parse(template).unwrap();
            assert_eq!(t.path_param_in_authority(), param, "{template}");
        }
    }

    /// A value rendered after the authority cannot move it, whatever it
    /// holds; one rendered into it (only possible when a stage variable
    /// hides the authority's end) is caught.
    #[test]
    fn rendered_values_cannot_move_the_authority() {
        let render = |template: &str, base: &'static str, value: &'static str| {
            let t = UriTemplate::parse(template).unwrap();
            let mut out = String::new();
            let first = t.render(&mut out, |_| Some(value), |_| Some(base));
            (params_stay_out_of_authority(&out, first), out)
        };
        for value in [
            "a",
            "@evil.test",
            "evil.test/",
            "#x",
            "?x",
            "%2Fevil",
            ":1",
            "",
        ] {
            let (ok, out) = render("http://127.0.0.1:9/{p}", "", value);
            assert!(ok, "{out}");
            let (ok, out) = render("${stageVariables.base}/{p}", "http://127.0.0.1:9", value);
            assert!(ok, "{out}");
        }
        // A stage variable that leaves the authority open: values that
        // would extend it are refused, even an empty one.
        for value in ["@evil.test", "evil.test/", ":1/", "", "/x"] {
            let (ok, out) = render("${stageVariables.base}{p}", "http://127.0.0.1", value);
            assert!(!ok, "{out}");
        }
        let (ok, out) = render("${stageVariables.base}{p}", "http://127.0.0.1/", "x@evil");
        assert!(ok, "{out}");
        // A variable that leaves the scheme unfinished: the template looks
        // fine, the rendered URI puts the value in the authority.
        let (ok, out) = render("${stageVariables.base}/{p}", "http:/", "evil.test");
        assert!(!ok, "{out}");
        // No scheme at all: nothing to trust.
        assert!(!params_stay_out_of_authority("evil.test/x", Some(0)));
        assert!(params_stay_out_of_authority("http://h/x", None));
    }

    #[test]
    fn authority_ends_at_the_first_delimiter_after_the_scheme() {
        assert_eq!(authority_end("http://h:1/x"), Some(10));
        assert_eq!(authority_end("http://h?x"), Some(8));
        assert_eq!(authority_end("http://h#x"), Some(8));
        assert_eq!(authority_end("http://u@h"), Some(10));
        assert_eq!(authority_end("h/x"), None);
    }

    #[test]
    fn refuses_bad_templates() {
        for bad in [
            "http://h/{",
            "http://h/${context.x}",
            "http://h/{}",
            "http://h/}",
        ] {
            assert!(UriTemplate::parse(bad).is_err(), "{bad}");
        }
    }
}
