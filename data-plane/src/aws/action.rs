//! REST APIs' non-proxy `AWS` integrations: the mapping flow renders the
//! integration request (request template, parameter mappings) and hands it
//! to [`call`], which sends it to what the integration's URI names (a
//! service action, a service path, or a function) and returns the answer
//! for the integration responses to map. An action goes in the protocol
//! its service speaks: JSON (`X-Amz-Target`) for the services
//! [`aws_subtypes::action_protocol`] lists, the query protocol
//! (`?Action=`) for the others.

use super::credentials::OutboundCredentials;
use super::integration::CallSettings;
use super::lambda::{self, FunctionError};
use super::{AwsAnswer, AwsError, AwsOutbound, AwsRequest, Service};
use archway_proto::aws_subtypes;
use archway_proto::rules::aws_arn::AwsTarget;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, header};

/// The integration request as the mapping flow rendered it.
#[derive(Debug, Clone)]
pub struct RenderedRequest<'a> {
    /// The integration's `http_method` (functions are always invoked with
    /// POST, whatever it says).
    pub method: Method,
    /// `integration.request.header.*`, with `Content-Type` the request
    /// template's media type unless a mapping set it.
    pub headers: HeaderMap,
    /// `integration.request.querystring.*`, in order.
    pub query: &'a [(String, String)],
    /// `integration.request.path.*`: fill `{name}` in a path URI.
    pub path_params: &'a [(String, String)],
    /// The request template's output (or the passed-through body).
    pub body: Bytes,
}

/// The service's or function's answer.
#[derive(Debug, Clone)]
pub struct CallAnswer {
    pub answer: AwsAnswer,
    /// For functions: the error the function raised, whose `errorMessage`
    /// the integration responses' selection patterns match.
    pub function_error: Option<FunctionError>,
}

/// Signs and sends `request` to `target` with the integration's credentials
/// (from `table`, else the node's environment), within its timeout.
pub async fn call(
    aws: &AwsOutbound,
    table: &OutboundCredentials,
    target: &AwsTarget,
    settings: &CallSettings,
    mut request: RenderedRequest<'_>,
) -> Result<CallAnswer, AwsError> {
    let credentials = aws.credentials(table, &settings.credentials)?;
    let (region, service, subdomain, path) = match target {
        AwsTarget::Function(function) => {
            let answer = lambda::invoke(aws, credentials, function, settings, request.body).await?;
            let function_error = FunctionError::of(&answer);
            return Ok(CallAnswer {
                answer,
                function_error,
            });
        }
        AwsTarget::Action {
            region,
            service,
            subdomain,
            action,
        } if let Some(json) = aws_subtypes::action_protocol(service) => {
            // A JSON-protocol service: the action in X-Amz-Target, the
            // rendered body as the JSON document, the service's own
            // content type (such services refuse `application/json`).
            let target = HeaderValue::from_str(&json.target(action)).map_err(|_| {
                AwsError::Failed(format!("'{action}' cannot be an X-Amz-Target action"))
            })?;
            request.headers.insert("x-amz-target", target);
            request.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(json.content_type),
            );
            let mut path = String::from("/");
            if !request.query.is_empty() {
                path.push('?');
                path.push_str(&crate::uri_encode::query(
                    request.query.iter().map(|(k, v)| (k.as_ref(), v.as_ref())),
                ));
            }
            (region, service, subdomain, path)
        }
        AwsTarget::Action {
            region,
            service,
            subdomain,
            action,
        } => {
            let query = crate::uri_encode::query(
                std::iter::once(("Action", &**action))
                    .chain(request.query.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))),
            );
            if !request.body.is_empty() && !request.headers.contains_key(header::CONTENT_TYPE) {
                // Nothing named a type (a body passed through from a
                // client that sent none): the query protocol's form body.
                request.headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                );
            }
            (region, service, subdomain, format!("/?{query}"))
        }
        AwsTarget::Path {
            region,
            service,
            subdomain,
            path,
        } => {
            let mut rendered = format!("/{path}");
            for (name, value) in request.path_params {
                rendered = rendered.replace(
                    &format!("{{{name}}}"),
                    &crate::uri_encode::path_segment(value),
                );
            }
            if !request.query.is_empty() {
                rendered.push(if rendered.contains('?') { '&' } else { '?' });
                rendered.push_str(&crate::uri_encode::query(
                    request.query.iter().map(|(k, v)| (k.as_ref(), v.as_ref())),
                ));
            }
            (region, service, subdomain, rendered)
        }
    };
    let endpoint = Service {
        endpoint_prefix: service,
        subdomain: subdomain.as_deref(),
        signing_name: service,
        region: Some(region),
        endpoint_url: settings.endpoint_url.as_deref(),
    };
    // Headers the client writes itself are not the mapping's to set.
    request.headers.remove(header::HOST);
    request.headers.remove(header::CONTENT_LENGTH);
    let answer = aws
        .send(
            &endpoint,
            credentials,
            AwsRequest {
                method: request.method,
                path_and_query: &path,
                headers: request.headers,
                body: request.body,
            },
            settings.timeout,
        )
        .await?;
    Ok(CallAnswer {
        answer,
        function_error: None,
    })
}
