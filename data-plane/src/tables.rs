//! The runtime tables a node serves from: immutable once built, swapped in
//! whole with `ArcSwap`, so a request loads them once and sees one consistent
//! version from start to end.

use crate::access_log::StageAccessLog;
use crate::compile::routes::RouteTree;
use archway_proto::uri_template::UriTemplate;
use archway_proto::v1::ApiProtocol;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use opentelemetry::KeyValue;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Default)]
pub struct RuntimeTables {
    /// The configuration version these tables were compiled from.
    pub version: u64,
    /// By API id.
    pub apis: HashMap<Box<str>, ApiTable>,
    /// By resource name, so the next compilation can reuse them.
    pub deployments: HashMap<Box<str>, Arc<CompiledDeployment>>,
}

impl RuntimeTables {
    pub fn empty() -> Self {
        Self::default()
    }
}

#[derive(Debug)]
pub struct ApiTable {
    pub id: Box<str>,
    /// The `api` metric label, built once per version.
    pub label: KeyValue,
    pub protocol: ApiProtocol,
    /// By stage name.
    pub stages: HashMap<Box<str>, StageTable>,
}

#[derive(Debug)]
pub struct StageTable {
    pub name: Box<str>,
    /// The `stage` metric label.
    pub label: KeyValue,
    pub primary: StageTarget,
    pub canary: Option<Canary>,
    pub access_log: Option<StageAccessLog>,
}

#[derive(Debug)]
pub struct Canary {
    /// 0.0 to 100.0.
    pub percent: f64,
    pub target: StageTarget,
}

/// A deployment as one stage serves it: with that stage's variables.
#[derive(Debug)]
pub struct StageTarget {
    pub deployment: Arc<CompiledDeployment>,
    pub variables: HashMap<Box<str>, Box<str>>,
}

#[derive(Debug)]
pub struct CompiledDeployment {
    pub tree: RouteTree,
    /// Indexed by the route ids in `tree`.
    pub routes: Vec<Route>,
}

#[derive(Debug)]
pub struct Route {
    /// The resource path template, e.g. `/pets/{petId}`.
    pub resource_path: Box<str>,
    /// The `route` metric label: the template, never the raw path.
    pub label: KeyValue,
    pub integration: CompiledIntegration,
}

#[derive(Debug)]
pub enum CompiledIntegration {
    HttpProxy {
        /// None: the client's verb.
        method: Option<http::Method>,
        uri: UriTemplate,
        timeout: Duration,
    },
    Mock {
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    },
}
