//! Phase: resolve. Which API and stage a request is for.
//!
//! As in AWS, the API comes from the host name (`{api-id}.{domain}`) and the
//! stage from the first path segment (`/{stage}/...`). A stage with a canary
//! sends its share of requests to the canary deployment.

use super::context::{Context, Stage};
use super::gateway_response::GatewayResponse;
use super::normalize;
use super::observe::Phase;
use crate::tables::{ApiTable, RuntimeTables, StageTable, StageTarget};

/// The phase: finds the API by host and the stage by the path's first
/// segment, and refuses a private API to a public connection (for which it
/// does not exist).
pub fn resolve_stage<'a>(cx: &mut Context<'a>, domain: &str) -> Result<Stage<'a>, GatewayResponse> {
    let tables = cx.tables;
    let host = normalize::request_host(&cx.head)?;
    let resolved = resolve(tables, domain, host, cx.path()).map(|r| {
        let stage = Stage {
            api: r.api,
            stage: r.stage,
            serving: r.target,
        };
        (stage, r.path.len())
    });
    if let Ok((found, _)) = &resolved {
        cx.observation.api = Some(found.api);
        cx.observation.stage = Some(found.stage);
    }
    // Whether the stage logs decides what is kept; kept for refusals too.
    cx.observation.keep_details(&cx.head, cx.client);
    let (found, rest_len) = resolved?;
    cx.set_stage_path(rest_len);
    // A private API does not exist for public connections.
    if found.api.private && !cx.client.private {
        return Err(GatewayResponse::Forbidden);
    }
    // Only now: a private API's own answers would tell a public caller it
    // exists.
    cx.resolved = Some(found);
    cx.observation.event(Phase::Resolved);
    Ok(found)
}

#[derive(Debug)]
pub struct Resolved<'t, 'r> {
    pub api: &'t ApiTable,
    pub stage: &'t StageTable,
    /// The primary deployment, or the canary for the canary's share.
    pub target: &'t StageTarget,
    /// The path after the stage, starting with '/' (or empty for the stage root).
    pub path: &'r str,
}

/// `domain` starts with a dot, e.g. `.execute-api.localhost`.
pub fn resolve<'t, 'r>(
    tables: &'t RuntimeTables,
    domain: &str,
    host: Option<&str>,
    path: &'r str,
) -> Result<Resolved<'t, 'r>, GatewayResponse> {
    let host = host.ok_or(GatewayResponse::Forbidden)?;
    let host = normalize::strip_port(host);
    let api_id = strip_suffix_ignore_case(host, domain)
        .filter(|id| !id.is_empty() && !id.contains('.'))
        .ok_or(GatewayResponse::Forbidden)?;
    let api = if api_id.bytes().any(|b| b.is_ascii_uppercase()) {
        tables.apis.get(api_id.to_ascii_lowercase().as_str())
    } else {
        tables.apis.get(api_id)
    }
    .ok_or(GatewayResponse::Forbidden)?;

    let after_slash = path.strip_prefix('/').unwrap_or(path);
    let (stage_name, rest) = match after_slash.find('/') {
        Some(i) => (&after_slash[..i], &after_slash[i..]),
        None => (after_slash, ""),
    };
    let stage = api
        .stages
        .get(stage_name)
        .ok_or(GatewayResponse::Forbidden)?;
    let target = match &stage.canary {
        Some(canary) if fastrand::f64() * 100.0 < canary.percent => &canary.target,
        _ => &stage.primary,
    };
    Ok(Resolved {
        api,
        stage,
        target,
        path: rest,
    })
}

fn strip_suffix_ignore_case<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    (s.is_char_boundary(cut) && s[cut..].eq_ignore_ascii_case(suffix)).then(|| &s[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_parsing() {
        assert_eq!(normalize::strip_port("a.x.localhost:8080"), "a.x.localhost");
        assert_eq!(normalize::strip_port("a.x.localhost"), "a.x.localhost");
        assert_eq!(
            strip_suffix_ignore_case("Abc.Execute-API.localhost", ".execute-api.localhost"),
            Some("Abc")
        );
        assert_eq!(
            strip_suffix_ignore_case("x", ".execute-api.localhost"),
            None
        );
    }

    #[test]
    fn unknown_hosts_and_stages_are_forbidden() {
        let tables = RuntimeTables::empty();
        let err = resolve(&tables, ".d", Some("nope.d"), "/prod/x").unwrap_err();
        assert_eq!(err, GatewayResponse::Forbidden);
        let err = resolve(&tables, ".d", None, "/prod/x").unwrap_err();
        assert_eq!(err, GatewayResponse::Forbidden);
    }
}
