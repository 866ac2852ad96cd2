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

/// A function to invoke, as the node calls it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionTarget {
    pub region: Box<str>,
    /// The function's ARN without the qualifier, as the Invoke API's path
    /// takes it.
    pub function: Box<str>,
    /// The ARN's alias or version (`Qualifier`).
    pub qualifier: Option<Box<str>>,
}

/// What an `AWS` or `AWS_PROXY` integration's `uri` names, owned and typed
/// for the node: read by [`aws_target`] with the checks the admin API runs,
/// so a URI the API accepts is one the node compiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwsTarget {
    Function(FunctionTarget),
    /// A query-protocol action: `POST /` with `Action={action}` and the
    /// request's parameters.
    Action {
        region: Box<str>,
        service: Box<str>,
        /// `{subdomain}.{service}`: a subdomain before the service's host.
        subdomain: Option<Box<str>>,
        action: Box<str>,
    },
    /// A REST call to `/{path}` of the service.
    Path {
        region: Box<str>,
        service: Box<str>,
        subdomain: Option<Box<str>>,
        path: Box<str>,
    },
}

/// Reads an integration URI: a function ARN, a Lambda invocation URI, or
/// a service action or path. Stage variables in it are checked as
/// [`service_uri`] and [`function_arn`] check them, and kept as written.
pub fn aws_target(uri: &str) -> Result<AwsTarget, String> {
    if uri.starts_with("arn:aws:lambda:") {
        return function_arn(uri).map(AwsTarget::Function);
    }
    let split = |service: &str| match service.rsplit_once('.') {
        Some((sub, service)) => (Some(sub.into()), service.into()),
        None => (None, service.into()),
    };
    Ok(match service_uri(uri)? {
        ServiceUri::Action {
            region,
            service,
            action,
        } => {
            let (subdomain, service) = split(service);
            AwsTarget::Action {
                region: region.into(),
                service,
                subdomain,
                action: action.into(),
            }
        }
        ServiceUri::LambdaInvoke { function, .. } => AwsTarget::Function(function_arn(function)?),
        ServiceUri::Path {
            region,
            service,
            path,
        } => {
            let (subdomain, service) = split(service);
            AwsTarget::Path {
                region: region.into(),
                service,
                subdomain,
                path: path.into(),
            }
        }
    })
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
    // `{subdomain}.{service}`: each label non-empty.
    let service_ok = service.split('.').all(|label| {
        !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
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
pub fn function_arn(arn: &str) -> Result<FunctionTarget, String> {
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
    let (region, account, name) = (parts[0], parts[1], parts[3]);
    Ok(FunctionTarget {
        region: region.into(),
        function: format!("arn:aws:lambda:{region}:{account}:function:{name}").into(),
        qualifier: parts.get(4).map(|q| (*q).into()),
    })
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
    fn function_targets_in_every_form_aws_writes() {
        let arn = "arn:aws:lambda:eu-west-1:123456789012:function:hello";
        let expected = FunctionTarget {
            region: "eu-west-1".into(),
            function: arn.into(),
            qualifier: None,
        };
        assert_eq!(aws_target(arn), Ok(AwsTarget::Function(expected.clone())));
        let rest = format!(
            "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/{arn}/invocations"
        );
        assert_eq!(aws_target(&rest), Ok(AwsTarget::Function(expected)));
        let AwsTarget::Function(aliased) = aws_target(&format!("{arn}:live")).unwrap() else {
            panic!()
        };
        assert_eq!(aliased.qualifier.as_deref(), Some("live"));
        assert_eq!(&*aliased.function, arn);
    }

    #[test]
    fn service_targets_split_a_subdomain() {
        assert_eq!(
            aws_target("arn:aws:apigateway:us-east-1:sqs:action/SendMessage"),
            Ok(AwsTarget::Action {
                region: "us-east-1".into(),
                service: "sqs".into(),
                subdomain: None,
                action: "SendMessage".into(),
            })
        );
        assert_eq!(
            aws_target("arn:aws:apigateway:us-east-1:sqs:path/123456789012/orders"),
            Ok(AwsTarget::Path {
                region: "us-east-1".into(),
                service: "sqs".into(),
                subdomain: None,
                path: "123456789012/orders".into(),
            })
        );
        let AwsTarget::Path {
            subdomain, service, ..
        } = aws_target("arn:aws:apigateway:us-east-1:my-bucket.s3:path/key").unwrap()
        else {
            panic!()
        };
        assert_eq!((subdomain.as_deref(), &*service), (Some("my-bucket"), "s3"));
        for bad in [
            "",
            "http://example.com",
            "arn:aws:lambda:us-east-1:123:hello",
            "arn:aws:lambda:us-east-1:abc:function:hello",
            "arn:aws:lambda:us-east-1:123:function:he/llo",
            "arn:aws:lambda:us-east-1:123:function:hello:a:b",
            "arn:aws:apigateway:us-east-1:sqs",
            "arn:aws:apigateway::sqs:action/Send",
            "arn:aws:apigateway:us-east-1:sqs:action/",
            "arn:aws:apigateway:us-east-1:sqs:action/Send&x=1",
            "arn:aws:apigateway:us-east-1:sqs:other/x",
            "arn:aws:apigateway:us-east-1:.sqs:path/x",
            "arn:aws:apigateway:us-east-1:sqs.:path/x",
            "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/a/b/invocations",
        ] {
            let e = aws_target(bad).unwrap_err();
            assert!(!e.is_empty(), "{bad}");
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
