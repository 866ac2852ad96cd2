//! The AWS names integrations carry: API Gateway service-integration URIs
//! (`arn:aws:apigateway:{region}:{service}:action/{Action}` or
//! `…:path/{path}`), Lambda function ARNs, and the credentials that sign
//! outbound calls (an IAM role ARN or an outbound credential's name).
//! Stage variables (`${stageVariables.NAME}`) may stand for a region, an
//! account, a function name or an alias, as AWS allows.

/// What an `arn:aws:apigateway:…` URI asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceUri<'a> {
    /// `…:{service}:action/{Action}`.
    Action {
        region: &'a str,
        service: &'a str,
        action: &'a str,
    },
    /// `…:lambda:path/2015-03-31/functions/{functionArn}/invocations`.
    LambdaInvoke { region: &'a str, function: &'a str },
    /// `…:{service}:path/{path}` (another service's REST path).
    Path {
        region: &'a str,
        service: &'a str,
        path: &'a str,
    },
}

const APIGATEWAY: &str = "arn:aws:apigateway:";
const LAMBDA_PATH: &str = "path/2015-03-31/functions/";
const INVOCATIONS: &str = "/invocations";

/// `${stageVariables.NAME}` in `part` are replaced by `x` for the shape
/// checks (their values are only known per stage).
fn without_stage_variables(part: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = part;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("'{part}' has '${{' without '}}'"))?;
        after[..close]
            .strip_prefix("stageVariables.")
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
            .ok_or_else(|| {
                format!(
                    "'${{{}}}' is not a stage variable (${{stageVariables.NAME}})",
                    &after[..close]
                )
            })?;
        out.push('x');
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn is_region(s: &str) -> bool {
    let Ok(s) = without_stage_variables(s) else {
        return false;
    };
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Parses an API Gateway service-integration URI.
pub fn service_uri(uri: &str) -> Result<ServiceUri<'_>, String> {
    let expected = "expected arn:aws:apigateway:{region}:{service}:action/{Action} or \
                    arn:aws:apigateway:{region}:{service}:path/{path}";
    let rest = uri
        .strip_prefix(APIGATEWAY)
        .ok_or_else(|| format!("'{uri}' is not an API Gateway service URI; {expected}"))?;
    let mut parts = rest.splitn(3, ':');
    let (region, service, what) = match (parts.next(), parts.next(), parts.next()) {
        (Some(r), Some(s), Some(w)) => (r, s, w),
        _ => {
            return Err(format!(
                "'{uri}' has too few ':'-separated parts; {expected}"
            ));
        }
    };
    if !is_region(region) {
        return Err(format!(
            "'{uri}' names the region '{region}', which is not lower-case letters, digits and '-'"
        ));
    }
    let service_ok = !service.is_empty()
        && service
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if !service_ok {
        return Err(format!(
            "'{uri}' names the service '{service}', which is not a service name (sqs, lambda, states...)"
        ));
    }
    if let Some(action) = what.strip_prefix("action/") {
        let ok = !action.is_empty() && action.bytes().all(|b| b.is_ascii_alphanumeric());
        if !ok {
            return Err(format!(
                "'{uri}' names the action '{action}', which is not an action name (letters and digits)"
            ));
        }
        return Ok(ServiceUri::Action {
            region,
            service,
            action,
        });
    }
    let Some(path) = what.strip_prefix("path/") else {
        return Err(format!("'{uri}' has neither action/ nor path/; {expected}"));
    };
    if service == "lambda" {
        let function = path
            .strip_prefix(&LAMBDA_PATH["path/".len()..])
            .and_then(|p| p.strip_suffix(INVOCATIONS))
            .ok_or_else(|| {
                format!(
                    "'{uri}' is not a Lambda invocation URI; expected \
                     arn:aws:apigateway:{{region}}:lambda:path/2015-03-31/functions/{{functionArn}}/invocations"
                )
            })?;
        function_arn(function).map_err(|e| format!("'{uri}': {e}"))?;
        return Ok(ServiceUri::LambdaInvoke { region, function });
    }
    let ok = !path.is_empty() && path.bytes().all(|b| b.is_ascii_graphic());
    if !ok {
        return Err(format!(
            "'{uri}' has an empty path or one with spaces or control characters"
        ));
    }
    Ok(ServiceUri::Path {
        region,
        service,
        path,
    })
}

/// A Lambda function ARN: `arn:aws:lambda:{region}:{account}:function:{name}`
/// with an optional `:{alias or version}`.
pub fn function_arn(arn: &str) -> Result<(), String> {
    let expected = "expected arn:aws:lambda:{region}:{account}:function:{name}[:{alias}]";
    let rest = arn
        .strip_prefix("arn:aws:lambda:")
        .ok_or_else(|| format!("'{arn}' is not a Lambda function ARN; {expected}"))?;
    let parts: Vec<&str> = rest.split(':').collect();
    if !(parts.len() == 4 || parts.len() == 5) || parts[2] != "function" {
        return Err(format!("'{arn}' is not a Lambda function ARN; {expected}"));
    }
    if !is_region(parts[0]) {
        return Err(format!(
            "'{arn}' names the region '{}', which is not a region",
            parts[0]
        ));
    }
    let account = without_stage_variables(parts[1])?;
    if !(account == "x" || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))) {
        return Err(format!(
            "'{arn}' names the account '{}', which is not 12 digits",
            parts[1]
        ));
    }
    for (what, part) in [("function name", parts[3])]
        .into_iter()
        .chain(parts.get(4).map(|a| ("alias or version", *a)))
    {
        let plain = without_stage_variables(part)?;
        let ok = !plain.is_empty()
            && plain.len() <= 140
            && plain
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'$');
        if !ok {
            return Err(format!(
                "'{arn}' has the {what} '{part}', which is not letters, digits, '-' and '_'"
            ));
        }
    }
    Ok(())
}

/// What an integration's `credentials` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials<'a> {
    /// Empty: the node's own AWS credentials.
    Node,
    /// `arn:aws:iam::{account}:role/{name}`.
    RoleArn(&'a str),
    /// An outbound credential's name.
    Name(&'a str),
}

/// Reads an integration's `credentials`.
pub fn credentials(value: &str) -> Result<Credentials<'_>, String> {
    if value.is_empty() {
        return Ok(Credentials::Node);
    }
    if let Some(rest) = value.strip_prefix("arn:aws:iam::") {
        let ok = rest.split_once(":role/").is_some_and(|(account, role)| {
            account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && !role.is_empty()
                && role.len() <= 512
                && role
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&b))
        });
        return if ok {
            Ok(Credentials::RoleArn(value))
        } else {
            Err(format!(
                "'{value}' is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME, a 12-digit account)"
            ))
        };
    }
    let name_ok = value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if name_ok {
        Ok(Credentials::Name(value))
    } else {
        Err(format!(
            "'{value}' is neither an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME) nor an outbound credential name (1 to 64 letters, digits or +=,.@_-)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_uris() {
        assert_eq!(
            service_uri("arn:aws:apigateway:us-east-1:sqs:action/SendMessage").unwrap(),
            ServiceUri::Action {
                region: "us-east-1",
                service: "sqs",
                action: "SendMessage"
            }
        );
        assert_eq!(
            service_uri("arn:aws:apigateway:eu-west-1:s3:path/bucket/{key}").unwrap(),
            ServiceUri::Path {
                region: "eu-west-1",
                service: "s3",
                path: "bucket/{key}"
            }
        );
        let lambda = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:hello:live/invocations";
        assert_eq!(
            service_uri(lambda).unwrap(),
            ServiceUri::LambdaInvoke {
                region: "us-east-1",
                function: "arn:aws:lambda:us-east-1:123456789012:function:hello:live"
            }
        );
        assert!(
            service_uri("arn:aws:apigateway:${stageVariables.region}:lambda:path/2015-03-31/functions/arn:aws:lambda:${stageVariables.region}:123456789012:function:${stageVariables.fn}/invocations")
                .is_ok()
        );
        for (bad, says) in [
            ("http://sqs/", "not an API Gateway service URI"),
            ("arn:aws:apigateway:us-east-1:sqs", "too few"),
            ("arn:aws:apigateway:US:sqs:action/X", "region 'US'"),
            ("arn:aws:apigateway:us-east-1:SQS:action/X", "service 'SQS'"),
            ("arn:aws:apigateway:us-east-1:sqs:action/", "action ''"),
            (
                "arn:aws:apigateway:us-east-1:sqs:action/Send Message",
                "action 'Send Message'",
            ),
            (
                "arn:aws:apigateway:us-east-1:sqs:do/X",
                "neither action/ nor path/",
            ),
            ("arn:aws:apigateway:us-east-1:s3:path/", "empty path"),
            (
                "arn:aws:apigateway:us-east-1:lambda:path/functions/x",
                "not a Lambda invocation URI",
            ),
            (
                "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/hello/invocations",
                "not a Lambda function ARN",
            ),
        ] {
            let err = service_uri(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn function_arns() {
        for ok in [
            "arn:aws:lambda:us-east-1:123456789012:function:hello",
            "arn:aws:lambda:us-east-1:123456789012:function:hello:$LATEST",
            "arn:aws:lambda:us-east-1:123456789012:function:${stageVariables.fn}",
        ] {
            assert!(function_arn(ok).is_ok(), "{ok}");
        }
        for bad in [
            "arn:aws:lambda:us-east-1:123:function:hello",
            "arn:aws:lambda:us-east-1:123456789012:layer:hello",
            "arn:aws:lambda:us-east-1:123456789012:function:",
            "arn:aws:lambda:us-east-1:123456789012:function:a b",
            "arn:aws:lambda:us-east-1:123456789012:function:a:b:c",
        ] {
            assert!(function_arn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_are_a_role_arn_or_a_name() {
        assert_eq!(credentials("").unwrap(), Credentials::Node);
        assert_eq!(
            credentials("arn:aws:iam::123456789012:role/path/caller").unwrap(),
            Credentials::RoleArn("arn:aws:iam::123456789012:role/path/caller")
        );
        assert_eq!(
            credentials("sqs-writer").unwrap(),
            Credentials::Name("sqs-writer")
        );
        for bad in [
            "arn:aws:iam::123:role/x",
            "arn:aws:iam::123456789012:user/x",
            "arn:aws:iam::*:user/*",
            "a b",
            &"n".repeat(65),
        ] {
            assert!(credentials(bad).is_err(), "{bad}");
        }
    }
}
