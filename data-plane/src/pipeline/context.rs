//! The per-request state every phase works on, in the spirit of pingora's
//! `CTX`: made once when a request arrives, filled in by the phases as they
//! learn things, and read by the phases after them.
//!
//! A [`Context`] owns the request (head and body, split once) and borrows
//! the tables it was loaded with, so one request sees one version. It holds
//! nothing that borrows the request itself: the canonical path is the URI's
//! own unless normalization changed it, and path parameters are kept as
//! spans of it. That is what lets the integration phase turn the head's
//! headers into the backend request's in place and take the body, without
//! copying either.
//!
//! What the resolve and route phases find (API, stage, deployment, route) is
//! not a field here but a [`Target`], which they return and the later
//! phases take as an argument: a phase that needs the route cannot run
//! without one, and no phase ever asks "was the route found yet?".

use super::caller::Authorization;
use super::headers::ClientInfo;
use super::observe::Observation;
use crate::body::RequestBody;
use crate::routes::Params;
use crate::tables::{ApiTable, Route, RuntimeTables, StageTable, StageTarget};
use http::request::Parts;
use smallvec::SmallVec;

/// A path parameter: its name in the route and where its raw value lies in
/// the path after the stage.
type ParamSpan<'a> = (&'a str, std::ops::Range<usize>);

pub struct Context<'a> {
    /// The tables this request was loaded with.
    pub tables: &'a RuntimeTables,
    /// Who is on the other end of the connection.
    pub client: &'a ClientInfo,
    /// The request head. The integration phase makes its headers the
    /// backend request's in place (hop-by-hop out, forwarding and identity
    /// headers in): phases after it see those, not the client's.
    pub head: Parts,
    /// The request body: streaming until a phase needs it whole (IAM reads
    /// a signed body to hash it), then buffered.
    pub body: RequestBody,
    /// The payload limit every phase that reads the body applies.
    pub max_payload: usize,
    /// Metrics, span and access log of this request.
    pub observation: Observation<'a>,
    /// Who the caller is: anonymous until the authorize phase says more.
    pub authorization: Authorization<'a>,
    /// The API key and its usage plan, for methods that require a key.
    pub usage: Option<super::api_key::Identity<'a>>,
    /// The API and stage, once the resolve phase found them: refusals
    /// answer as the API customises them, and CORS headers are the API's.
    pub resolved: Option<Stage<'a>>,
    /// The canonical path when normalization had to rewrite the request's;
    /// None: the URI's path is canonical already (the common case).
    normalized: Option<String>,
    /// Where the path after the stage starts in the canonical path.
    stage_path_start: usize,
    params: ParamSpans<'a>,
}

impl<'a> Context<'a> {
    pub fn new(
        tables: &'a RuntimeTables,
        client: &'a ClientInfo,
        head: Parts,
        body: RequestBody,
        max_payload: usize,
        observation: Observation<'a>,
    ) -> Self {
        Self {
            tables,
            client,
            head,
            body,
            max_payload,
            observation,
            authorization: Authorization::anonymous(),
            usage: None,
            resolved: None,
            normalized: None,
            stage_path_start: 0,
            params: SmallVec::new(),
        }
    }

    /// The canonical request path (with the stage), as the admit phase
    /// made it.
    pub fn path(&self) -> &str {
        self.normalized
            .as_deref()
            .unwrap_or_else(|| self.head.uri.path())
    }

    /// Keeps the admit phase's rewrite of the path; None: the URI's path
    /// is canonical.
    pub(super) fn set_normalized_path(&mut self, normalized: Option<String>) {
        self.normalized = normalized;
    }

    /// The path after the stage (`/pets/7`, or empty for the stage root):
    /// what routes, method ARNs and authorizer events see.
    pub fn stage_path(&self) -> &str {
        &self.path()[self.stage_path_start..]
    }

    /// Marks where the stage ends in [`Context::path`]: `rest` must be a
    /// suffix of it.
    pub(super) fn set_stage_path(&mut self, rest_len: usize) {
        self.stage_path_start = self.path().len() - rest_len;
    }

    /// The matched route's path parameters: (name, raw value).
    pub fn params(&self) -> Params<'a, '_> {
        let path = self.stage_path();
        self.params
            .iter()
            .map(|(name, span)| (*name, path.get(span.clone()).unwrap_or_default()))
            .collect()
    }

    /// The matched route's path parameters as (name, byte range of
    /// [`Context::stage_path`]): for views that keep the path's lifetime
    /// (a range may be out of [`Context::stage_path`] only by a bug; read it
    /// with `get`).
    pub fn param_spans(&self) -> impl Iterator<Item = (&'a str, std::ops::Range<usize>)> + '_ {
        self.params.iter().map(|(name, span)| (*name, span.clone()))
    }

    pub(super) fn set_params(&mut self, spans: ParamSpans<'a>) {
        self.params = spans;
    }
}

/// Path parameters as spans of the path they were matched in.
pub(super) type ParamSpans<'a> = SmallVec<[ParamSpan<'a>; 4]>;

/// Where each parameter's value lies in `path`; each value must be a slice
/// of `path` (the route tree matches in place, see [`crate::routes`]).
pub(super) fn param_spans<'a>(path: &str, params: &Params<'a, '_>) -> ParamSpans<'a> {
    let base = path.as_ptr() as usize;
    params
        .iter()
        .map(|(name, value)| {
            let start = (value.as_ptr() as usize).wrapping_sub(base);
            debug_assert!(start + value.len() <= path.len(), "a slice of the path");
            (*name, start..start + value.len())
        })
        .collect()
}

/// What the resolve phase found: the API and stage the host and first path
/// segment name, and the deployment serving this request (the canary's for
/// its share).
#[derive(Debug, Clone, Copy)]
pub struct Stage<'a> {
    pub api: &'a ApiTable,
    pub stage: &'a StageTable,
    pub serving: &'a StageTarget,
}

/// What the route phase found: the method this request calls. Every phase
/// after routing takes it.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub api: &'a ApiTable,
    pub stage: &'a StageTable,
    /// The deployment and stage variables serving this request.
    pub serving: &'a StageTarget,
    pub route: &'a Route,
}
