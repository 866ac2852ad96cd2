//! Identity sources of REQUEST authorizers, written as AWS writes them:
//! `method.request.header.Auth, method.request.querystring.user,
//! stageVariables.tenant, context.sourceIp`. The values found are what the
//! authorizer's answers are cached under, so both planes must read the list
//! the same way.

pub const HEADER_PREFIX: &str = "method.request.header.";
pub const QUERY_PREFIX: &str = "method.request.querystring.";
pub const STAGE_VARIABLE_PREFIX: &str = "stageVariables.";
pub const CONTEXT_PREFIX: &str = "context.";

/// Context variables a REQUEST authorizer can be keyed on.
pub const CONTEXT_VARIABLES: &[&str] = &[
    "requestId",
    "sourceIp",
    "identity.sourceIp",
    "identity.userAgent",
    "httpMethod",
    "resourcePath",
    "path",
    "stage",
    "apiId",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySource {
    /// A header name, lowercased.
    Header(String),
    Query(String),
    StageVariable(String),
    /// One of [`CONTEXT_VARIABLES`].
    Context(String),
}

/// Parses a comma-separated list; an empty list is allowed (nothing to key on).
pub fn parse_list(list: &str) -> Result<Vec<IdentitySource>, String> {
    let mut sources = Vec::new();
    for part in list.split(',').map(str::trim) {
        if part.is_empty() {
            if list.trim().is_empty() {
                continue;
            }
            return Err("has an empty entry".into());
        }
        let source = parse_one(part)?;
        if sources.contains(&source) {
            return Err(format!("'{part}' is listed twice"));
        }
        sources.push(source);
    }
    Ok(sources)
}

fn parse_one(part: &str) -> Result<IdentitySource, String> {
    let named = |rest: &str| {
        if rest.is_empty() || rest.len() > 128 {
            Err(format!("'{part}' needs a name of 1 to 128 characters"))
        } else {
            Ok(rest.to_owned())
        }
    };
    if let Some(rest) = part.strip_prefix(HEADER_PREFIX) {
        let name = named(rest)?;
        if !crate::rules::http::is_token(&name) {
            return Err(format!("'{rest}' is not a header name"));
        }
        Ok(IdentitySource::Header(name.to_ascii_lowercase()))
    } else if let Some(rest) = part.strip_prefix(QUERY_PREFIX) {
        Ok(IdentitySource::Query(named(rest)?))
    } else if let Some(rest) = part.strip_prefix(STAGE_VARIABLE_PREFIX) {
        Ok(IdentitySource::StageVariable(named(rest)?))
    } else if let Some(rest) = part.strip_prefix(CONTEXT_PREFIX) {
        if CONTEXT_VARIABLES.contains(&rest) {
            Ok(IdentitySource::Context(rest.to_owned()))
        } else {
            Err(format!(
                "'{part}': unknown context variable; known: {}",
                CONTEXT_VARIABLES.join(", ")
            ))
        }
    } else {
        Err(format!(
            "'{part}' is not method.request.header.NAME, method.request.querystring.NAME, \
             stageVariables.NAME or context.NAME"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind() {
        let list = parse_list(
            "method.request.header.X-Token, method.request.querystring.user,stageVariables.tenant, context.sourceIp",
        )
        .unwrap();
        assert_eq!(
            list,
            [
                IdentitySource::Header("x-token".into()),
                IdentitySource::Query("user".into()),
                IdentitySource::StageVariable("tenant".into()),
                IdentitySource::Context("sourceIp".into()),
            ]
        );
        assert!(parse_list("").unwrap().is_empty());
        assert!(parse_list("  ").unwrap().is_empty());
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        for (bad, says) in [
            ("method.request.header.", "needs a name"),
            ("method.request.header.a b", "not a header name"),
            ("headers.auth", "is not method.request.header"),
            ("context.bogus", "unknown context variable"),
            ("stageVariables.a,,stageVariables.b", "empty entry"),
            ("stageVariables.a, stageVariables.a", "listed twice"),
        ] {
            let err = parse_list(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
