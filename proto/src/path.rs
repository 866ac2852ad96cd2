//! The syntax of one resource path part, as AWS API Gateway defines it:
//! a literal (`pets`), a parameter (`{petId}`) or a greedy parameter
//! (`{proxy+}`) that takes the rest of the path and must come last.
//!
//! The control plane refuses parts that do not parse; the data plane builds
//! its route tree from the same parse, so the two can never disagree.

/// One parsed path part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathPart<'a> {
    Literal(&'a str),
    Param(&'a str),
    Greedy(&'a str),
}

/// Parses one path part, saying why when it is not valid.
pub fn parse_part(part: &str) -> Result<PathPart<'_>, String> {
    if part.is_empty() {
        return Err("must not be empty".into());
    }
    if part.len() > 256 {
        return Err("must be at most 256 characters".into());
    }
    if let Some(inner) = part.strip_prefix('{') {
        let Some(inner) = inner.strip_suffix('}') else {
            return Err(format!("'{part}' opens '{{' without closing it with '}}'"));
        };
        let (name, greedy) = match inner.strip_suffix('+') {
            Some(name) => (name, true),
            None => (inner, false),
        };
        if name.is_empty() {
            return Err("a parameter needs a name, e.g. {id}".into());
        }
        if let Some(bad) = name.chars().find(|c| !is_name_char(*c)) {
            return Err(format!(
                "parameter name '{name}' has '{bad}'; use letters, digits, '_', '-' or '.'"
            ));
        }
        return Ok(if greedy {
            PathPart::Greedy(name)
        } else {
            PathPart::Param(name)
        });
    }
    if let Some(bad) = part.chars().find(|c| !is_literal_char(*c)) {
        return Err(format!(
            "'{part}' has '{bad}'; a literal part takes letters, digits and ._-:~@"
        ));
    }
    Ok(PathPart::Literal(part))
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

fn is_literal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '~' | '@')
}

/// The names of the path parameters in a full resource path such as
/// `/pets/{petId}/{proxy+}` (here `petId` and `proxy`). Parts that do not
/// parse are skipped; validation reports them elsewhere.
pub fn param_names(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter(|p| !p.is_empty())
        .filter_map(|p| match parse_part(p) {
            Ok(PathPart::Param(n) | PathPart::Greedy(n)) => Some(n),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_kinds() {
        assert_eq!(parse_part("pets"), Ok(PathPart::Literal("pets")));
        assert_eq!(parse_part("{petId}"), Ok(PathPart::Param("petId")));
        assert_eq!(parse_part("{proxy+}"), Ok(PathPart::Greedy("proxy")));
    }

    #[test]
    fn refuses_malformed_parts_with_a_reason() {
        for bad in ["", "{", "{}", "{+}", "{a b}", "a/b", "pets?", "{id"] {
            let err = parse_part(bad).expect_err(bad);
            assert!(!err.is_empty());
        }
    }

    #[test]
    fn lists_param_names() {
        let names: Vec<_> = param_names("/pets/{petId}/toys/{proxy+}").collect();
        assert_eq!(names, ["petId", "proxy"]);
    }
}
