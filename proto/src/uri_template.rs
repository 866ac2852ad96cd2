//! Integration URI templates: `http://${stageVariables.host}/pets/{petId}`.
//!
//! `{name}` is replaced by the path parameter of that name, `${stageVariables.name}`
//! by the stage variable. The control plane parses templates to refuse bad
//! ones; the data plane parses them once per deployment and renders them per
//! request without parsing again.

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

    /// Renders the template into `out`. A missing path parameter or stage
    /// variable renders as the empty string, as in AWS.
    pub fn render<'a>(
        &self,
        out: &mut String,
        path_param: impl Fn(&str) -> Option<&'a str>,
        stage_variable: impl Fn(&str) -> Option<&'a str>,
    ) {
        out.reserve(self.literal_len + 32);
        for piece in &self.pieces {
            match piece {
                Piece::Literal(s) => out.push_str(s),
                Piece::PathParam(n) => out.push_str(path_param(n).unwrap_or("")),
                Piece::StageVariable(n) => out.push_str(stage_variable(n).unwrap_or("")),
            }
        }
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
