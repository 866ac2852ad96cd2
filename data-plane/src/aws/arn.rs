//! What an `AWS` or `AWS_PROXY` integration's `uri` names, as AWS writes
//! it:
//!
//! - a function: `arn:aws:lambda:{region}:{account}:function:{name}[:{alias}]`
//!   (HTTP APIs), the API Gateway form REST APIs use,
//!   `arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function-arn}/invocations`,
//!   or a bare function name;
//! - a service action: `arn:aws:apigateway:{region}:{service}:action/{Action}`;
//! - a service path: `arn:aws:apigateway:{region}:{service}:path/{path}`
//!   (`{subdomain}.{service}` puts a subdomain before the service's host).
//!
//! Parsed once per configuration version, never per request.

/// A function to invoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionTarget {
    /// None: the node's region.
    pub region: Option<Box<str>>,
    /// The function's name or its ARN without the qualifier, as the
    /// Invoke API's path takes it.
    pub function: Box<str>,
    /// The ARN's alias or version (`Qualifier`).
    pub qualifier: Option<Box<str>>,
}

impl FunctionTarget {
    /// The Invoke API's path and query:
    /// `/2015-03-31/functions/{function}/invocations[?Qualifier=q]`, the
    /// function percent-encoded as one path segment.
    pub fn invoke_path(&self) -> String {
        use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
        const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');
        let mut path = format!(
            "/2015-03-31/functions/{}/invocations",
            utf8_percent_encode(&self.function, SEGMENT)
        );
        if let Some(q) = &self.qualifier {
            path.push_str("?Qualifier=");
            path.extend(utf8_percent_encode(q, SEGMENT));
        }
        path
    }
}

/// What an integration URI names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwsTarget {
    Function(FunctionTarget),
    /// A query-protocol action: `POST /` with `Action={action}` and the
    /// request's parameters.
    Action {
        region: Box<str>,
        service: Box<str>,
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

/// Parses an integration URI; the error says what is wrong with it.
pub fn parse(uri: &str) -> Result<AwsTarget, String> {
    if let Some(rest) = uri.strip_prefix("arn:aws:lambda:") {
        return function_arn(rest, uri).map(AwsTarget::Function);
    }
    let Some(rest) = uri.strip_prefix("arn:aws:apigateway:") else {
        if !uri.is_empty() && !uri.contains([':', '/']) {
            return Ok(AwsTarget::Function(FunctionTarget {
                region: None,
                function: uri.into(),
                qualifier: None,
            }));
        }
        return Err(format!(
            "'{uri}' is not a function (arn:aws:lambda:…) or an arn:aws:apigateway:{{region}}:{{service}}:action|path/… URI"
        ));
    };
    let mut parts = rest.splitn(3, ':');
    let (Some(region), Some(service), Some(what)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!(
            "'{uri}': expected arn:aws:apigateway:{{region}}:{{service}}:…"
        ));
    };
    if region.is_empty() || service.is_empty() {
        return Err(format!("'{uri}': the region and service must not be empty"));
    }
    let (subdomain, service) = match service.rsplit_once('.') {
        Some((sub, service)) if !sub.is_empty() && !service.is_empty() => {
            (Some(sub.into()), service)
        }
        Some(_) => return Err(format!("'{uri}': bad service '{service}'")),
        None => (None, service),
    };
    if let Some(action) = what.strip_prefix("action/") {
        if action.is_empty() || !action.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(format!("'{uri}': bad action '{action}'"));
        }
        return Ok(AwsTarget::Action {
            region: region.into(),
            service: service.into(),
            subdomain,
            action: action.into(),
        });
    }
    let Some(path) = what.strip_prefix("path/") else {
        return Err(format!(
            "'{uri}': expected action/{{Action}} or path/{{path}} after the service"
        ));
    };
    if service == "lambda"
        && let Some(function) = path
            .strip_prefix("2015-03-31/functions/")
            .and_then(|f| f.strip_suffix("/invocations"))
    {
        let target = match function.strip_prefix("arn:aws:lambda:") {
            Some(arn) => function_arn(arn, uri)?,
            None if !function.is_empty() && !function.contains(['/', ':']) => FunctionTarget {
                region: None,
                function: function.into(),
                qualifier: None,
            },
            None => return Err(format!("'{uri}': bad function '{function}'")),
        };
        return Ok(AwsTarget::Function(FunctionTarget {
            region: target.region.or_else(|| Some(region.into())),
            ..target
        }));
    }
    Ok(AwsTarget::Path {
        region: region.into(),
        service: service.into(),
        subdomain,
        path: path.into(),
    })
}

/// `{region}:{account}:function:{name}[:{qualifier}]`, after `arn:aws:lambda:`.
fn function_arn(rest: &str, uri: &str) -> Result<FunctionTarget, String> {
    let parts: Vec<&str> = rest.split(':').collect();
    let (region, account, name, qualifier) = match parts.as_slice() {
        [region, account, "function", name] => (*region, *account, *name, None),
        [region, account, "function", name, q] => (*region, *account, *name, Some(*q)),
        _ => {
            return Err(format!(
                "'{uri}': expected arn:aws:lambda:{{region}}:{{account}}:function:{{name}}[:{{alias}}]"
            ));
        }
    };
    let valid = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'$')
    };
    if !valid(region) || !valid(name) || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("'{uri}': bad function ARN"));
    }
    if let Some(q) = qualifier
        && !valid(q)
    {
        return Err(format!("'{uri}': bad qualifier '{q}'"));
    }
    Ok(FunctionTarget {
        region: Some(region.into()),
        function: format!("arn:aws:lambda:{region}:{account}:function:{name}").into(),
        qualifier: qualifier.map(Into::into),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_arns_in_every_form_aws_writes() {
        let arn = "arn:aws:lambda:eu-west-1:123456789012:function:hello";
        let expected = FunctionTarget {
            region: Some("eu-west-1".into()),
            function: arn.into(),
            qualifier: None,
        };
        assert_eq!(parse(arn), Ok(AwsTarget::Function(expected.clone())));
        let rest = format!(
            "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/{arn}/invocations"
        );
        assert_eq!(parse(&rest), Ok(AwsTarget::Function(expected)));
        let AwsTarget::Function(aliased) = parse(&format!("{arn}:live")).unwrap() else {
            panic!()
        };
        assert_eq!(aliased.qualifier.as_deref(), Some("live"));
        assert_eq!(&*aliased.function, arn);
        assert_eq!(
            aliased.invoke_path(),
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Ahello/invocations?Qualifier=live"
        );
        let AwsTarget::Function(bare) = parse("hello").unwrap() else {
            panic!()
        };
        assert_eq!(bare.region, None);
        assert_eq!(
            bare.invoke_path(),
            "/2015-03-31/functions/hello/invocations"
        );
    }

    #[test]
    fn service_actions_and_paths() {
        assert_eq!(
            parse("arn:aws:apigateway:us-east-1:sqs:action/SendMessage"),
            Ok(AwsTarget::Action {
                region: "us-east-1".into(),
                service: "sqs".into(),
                subdomain: None,
                action: "SendMessage".into(),
            })
        );
        assert_eq!(
            parse("arn:aws:apigateway:us-east-1:sqs:path/123456789012/orders"),
            Ok(AwsTarget::Path {
                region: "us-east-1".into(),
                service: "sqs".into(),
                subdomain: None,
                path: "123456789012/orders".into(),
            })
        );
        let AwsTarget::Path {
            subdomain, service, ..
        } = parse("arn:aws:apigateway:us-east-1:my-bucket.s3:path/key").unwrap()
        else {
            panic!()
        };
        assert_eq!((subdomain.as_deref(), &*service), (Some("my-bucket"), "s3"));
    }

    #[test]
    fn malformed_uris_are_refused_with_a_reason() {
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
            "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/a/b/invocations",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(!e.is_empty(), "{bad}");
        }
    }
}
