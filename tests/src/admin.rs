//! The admin API as a test drives it: real gRPC clients plus helpers for the
//! common steps (an API with routes, a deployment, waiting for the fleet).

use anyhow::{Context, bail};
use archway_proto::paging::{PagedRequest, PagedResponse, all_pages};
use archway_proto::v1::admin_token_service_client::AdminTokenServiceClient;
use archway_proto::v1::configuration_service_client::ConfigurationServiceClient;
use archway_proto::v1::deployment_service_client::DeploymentServiceClient;
use archway_proto::v1::fleet_service_client::FleetServiceClient;
use archway_proto::v1::iam_service_client::IamServiceClient;
use archway_proto::v1::open_api_service_client::OpenApiServiceClient;
use archway_proto::v1::rest_api_service_client::RestApiServiceClient;
use archway_proto::v1::usage_plan_service_client::UsagePlanServiceClient;
use archway_proto::v1::*;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tonic::transport::Channel;

/// Adds a bearer token to every call (the test admin token, or one a test
/// made).
#[derive(Clone)]
pub struct Bearer(pub String);

impl tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        let value = format!("Bearer {}", self.0)
            .parse()
            .expect("a valid header value");
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }
}

pub type AuthChannel = tonic::service::interceptor::InterceptedService<Channel, Bearer>;

#[derive(Clone)]
pub struct Admin {
    pub apis: RestApiServiceClient<AuthChannel>,
    pub deployments: DeploymentServiceClient<AuthChannel>,
    pub fleet: FleetServiceClient<AuthChannel>,
    pub plans: UsagePlanServiceClient<AuthChannel>,
    pub iam: IamServiceClient<AuthChannel>,
    pub tokens: AdminTokenServiceClient<AuthChannel>,
    /// Whole documents: apply, diff, export.
    pub config: ConfigurationServiceClient<AuthChannel>,
    /// OpenAPI imports, exports and SDKs.
    pub openapi: OpenApiServiceClient<AuthChannel>,
    /// The channel without a token, to test refusals.
    pub channel: Channel,
}

/// A field mask of `paths`, for Update* requests.
pub fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

/// Asserts the call was refused as invalid input (INVALID_ARGUMENT) and
/// returns its message.
fn invalid_message<T: std::fmt::Debug>(result: Result<T, tonic::Status>) -> String {
    let status = result.expect_err("should be refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    status.message().to_owned()
}

/// Asserts the call was refused as invalid input with a message starting
/// with `start`: the field, `: `, and as much of the reason as the test
/// fixes (`"stage_name: "`, `"page_size: -1 is negative"`).
pub fn assert_invalid<T: std::fmt::Debug>(result: Result<T, tonic::Status>, start: &str) {
    let message = invalid_message(result);
    assert!(
        message.starts_with(start),
        "expected the message to start with '{start}': {message}"
    );
}

/// `(key, value)` pairs as the owned map the API's map fields take
/// (request parameters, templates, headers).
pub fn string_map(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// An ApplyConfiguration (or DiffConfiguration) request for `document`.
pub fn apply_request(document: &str, dry_run: bool, prune: bool) -> ApplyConfigurationRequest {
    ApplyConfigurationRequest {
        document: document.to_owned(),
        dry_run,
        prune,
        ..Default::default()
    }
}

/// As [`assert_invalid`], for a reason that may come anywhere in the
/// message (under a field path the test does not fix).
pub fn assert_invalid_says<T: std::fmt::Debug>(result: Result<T, tonic::Status>, says: &str) {
    let message = invalid_message(result);
    assert!(message.contains(says), "'{message}' does not say '{says}'");
}

/// Every item of a List* call through every page: `call` makes one call on
/// its own clone of `client`.
async fn every_page<C, Q, R, F, Fut>(
    client: &C,
    request: Q,
    call: F,
) -> anyhow::Result<Vec<R::Item>>
where
    C: Clone,
    Q: PagedRequest,
    R: PagedResponse,
    F: Fn(C, Q) -> Fut,
    Fut: Future<Output = Result<tonic::Response<R>, tonic::Status>>,
{
    Ok(all_pages(request, |req| {
        let response = call(client.clone(), req);
        async move { Ok::<_, tonic::Status>(response.await?.into_inner()) }
    })
    .await?)
}

pub fn http_proxy(uri: &str) -> Integration {
    Integration {
        r#type: IntegrationType::HttpProxy as i32,
        uri: uri.into(),
        ..Default::default()
    }
}

pub fn mock(status: u32, body: &str) -> Integration {
    Integration {
        r#type: IntegrationType::Mock as i32,
        mock: Some(MockResponse {
            status_code: status,
            headers: std::collections::BTreeMap::from([(
                "content-type".into(),
                "text/plain".into(),
            )]),
            body: body.into(),
        }),
        ..Default::default()
    }
}

/// An authorizer named `name` on `api`, of `kind`, calling `uri`; a test
/// sets what else it needs (identity source, TTL, timeout) with `..`.
pub fn authorizer(api: &RestApi, name: &str, kind: AuthorizerType, uri: &str) -> Authorizer {
    Authorizer {
        api_id: api.id.clone(),
        name: name.into(),
        r#type: kind as i32,
        authorizer_uri: uri.into(),
        ..Default::default()
    }
}

/// What [`Admin::with_new_token`] made.
pub struct NewToken {
    pub token: AdminToken,
    /// Shown once by the server: what a caller presents as its bearer token.
    pub secret: String,
    /// Clients that call with the new token.
    pub client: Admin,
}

impl Admin {
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let endpoint = tonic::transport::Endpoint::from_shared(url.to_owned())?
            .connect_timeout(Duration::from_secs(2));
        let deadline = Instant::now() + Duration::from_secs(20);
        let channel = loop {
            match endpoint.connect().await {
                Ok(channel) => break channel,
                Err(e) if Instant::now() > deadline => {
                    return Err(e).context("connecting to the control plane");
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        Self::with_token(channel, crate::TEST_ADMIN_TOKEN)
    }

    /// Clients that call with `token`.
    pub fn with_token(channel: Channel, token: &str) -> anyhow::Result<Self> {
        let authed = tonic::service::interceptor::InterceptedService::new(
            channel.clone(),
            Bearer(token.to_owned()),
        );
        Ok(Self {
            apis: RestApiServiceClient::new(authed.clone()),
            deployments: DeploymentServiceClient::new(authed.clone()),
            fleet: FleetServiceClient::new(authed.clone()),
            plans: UsagePlanServiceClient::new(authed.clone()),
            iam: IamServiceClient::new(authed.clone()),
            tokens: AdminTokenServiceClient::new(authed.clone()),
            openapi: OpenApiServiceClient::new(authed.clone())
                .max_decoding_message_size(256 << 20)
                .max_encoding_message_size(256 << 20),
            config: ConfigurationServiceClient::new(authed)
                .max_decoding_message_size(256 << 20)
                .max_encoding_message_size(256 << 20),
            channel,
        })
    }

    /// A new admin token named `name` with `role` (made with this client's
    /// token): its record, its secret (for a client other than this crate's,
    /// a browser or archwayctl), and clients on the same channel that call
    /// with it.
    pub async fn with_new_token(&self, name: &str, role: TokenRole) -> anyhow::Result<NewToken> {
        let created = self
            .tokens
            .clone()
            .create_token(CreateTokenRequest {
                name: name.into(),
                role: role as i32,
            })
            .await?
            .into_inner();
        let client = Self::with_token(self.channel.clone(), &created.secret)?;
        let token = created.token.context("CreateToken returned no token")?;
        Ok(NewToken {
            token,
            secret: created.secret,
            client,
        })
    }

    pub async fn create_api(&mut self, id: &str, protocol: ApiProtocol) -> anyhow::Result<RestApi> {
        Ok(self
            .apis
            .create_rest_api(CreateRestApiRequest {
                id: id.into(),
                name: format!("{id} api"),
                description: String::new(),
                protocol: protocol as i32,
                ..Default::default()
            })
            .await?
            .into_inner())
    }

    /// The resource at `path`, creating it and its parents as needed.
    pub async fn resource(&mut self, api: &RestApi, path: &str) -> anyhow::Result<Resource> {
        let request = ListResourcesRequest {
            api_id: api.id.clone(),
            ..Default::default()
        };
        let existing: HashMap<String, Resource> =
            every_page(&self.apis, request, |mut c, r| async move {
                c.list_resources(r).await
            })
            .await?
            .into_iter()
            .map(|r| (r.path.clone(), r))
            .collect();
        let mut current = existing["/"].clone();
        for part in path.split('/').filter(|p| !p.is_empty()) {
            let next = if current.path == "/" {
                format!("/{part}")
            } else {
                format!("{}/{part}", current.path)
            };
            current = match existing.get(&next) {
                Some(r) => r.clone(),
                None => self
                    .apis
                    .create_resource(CreateResourceRequest {
                        api_id: api.id.clone(),
                        parent_id: current.id.clone(),
                        path_part: part.into(),
                    })
                    .await?
                    .into_inner(),
            };
        }
        Ok(current)
    }

    /// Puts `method` on `path` with `integration`.
    pub async fn route(
        &mut self,
        api: &RestApi,
        path: &str,
        method: &str,
        integration: Integration,
    ) -> anyhow::Result<Method> {
        self.route_with_key(api, path, method, integration, false)
            .await
    }

    /// As [`Admin::route`], optionally requiring an API key.
    pub async fn route_with_key(
        &mut self,
        api: &RestApi,
        path: &str,
        method: &str,
        integration: Integration,
        api_key_required: bool,
    ) -> anyhow::Result<Method> {
        self.put_route(
            api,
            path,
            Method {
                http_method: method.into(),
                integration: Some(integration),
                api_key_required,
                ..Default::default()
            },
        )
        .await
    }

    /// Puts `method` (any settings: an authorizer, a key requirement) on
    /// `path`, creating the path as needed; fills in its API and resource.
    pub async fn put_route(
        &mut self,
        api: &RestApi,
        path: &str,
        method: Method,
    ) -> anyhow::Result<Method> {
        let resource = self.resource(api, path).await?;
        Ok(self
            .apis
            .put_method(PutMethodRequest {
                method: Some(Method {
                    api_id: api.id.clone(),
                    resource_id: resource.id,
                    ..method
                }),
            })
            .await?
            .into_inner())
    }

    /// As [`Admin::put_route`], with `method` protected by the custom
    /// (Lambda-style) `authorizer`: authorization type CUSTOM and its id.
    pub async fn put_custom_route(
        &mut self,
        api: &RestApi,
        path: &str,
        method: Method,
        authorizer: &Authorizer,
    ) -> anyhow::Result<Method> {
        let method = Method {
            authorization_type: "CUSTOM".into(),
            authorizer_id: authorizer.id.clone(),
            ..method
        };
        self.put_route(api, path, method).await
    }

    /// Creates an authorizer.
    pub async fn create_authorizer(&mut self, a: Authorizer) -> anyhow::Result<Authorizer> {
        Ok(self
            .apis
            .create_authorizer(PutAuthorizerRequest {
                authorizer: Some(a),
            })
            .await?
            .into_inner())
    }

    /// Creates an IAM user or role with these policy documents.
    pub async fn create_principal(
        &mut self,
        name: &str,
        kind: PrincipalType,
        policies: Vec<String>,
    ) -> anyhow::Result<IamPrincipal> {
        Ok(self
            .iam
            .create_principal(PutPrincipalRequest {
                principal: Some(IamPrincipal {
                    name: name.into(),
                    r#type: kind as i32,
                    policies,
                    ..Default::default()
                }),
            })
            .await?
            .into_inner())
    }

    /// A new access key (with its secret) for an IAM user.
    pub async fn access_key(&mut self, user: &str) -> anyhow::Result<AccessKey> {
        Ok(self
            .iam
            .create_access_key(CreateAccessKeyRequest {
                principal: user.into(),
            })
            .await?
            .into_inner())
    }

    /// Deploys the API's current definition to `stage` (created if needed).
    pub async fn deploy(&mut self, api: &RestApi, stage: &str) -> anyhow::Result<Deployment> {
        Ok(self
            .deployments
            .create_deployment(CreateDeploymentRequest {
                api_id: api.id.clone(),
                description: String::new(),
                stage_name: stage.into(),
                create_stage: true,
            })
            .await?
            .into_inner())
    }

    pub async fn stage(&mut self, api: &RestApi, stage: &str) -> anyhow::Result<Stage> {
        Ok(self
            .deployments
            .get_stage(GetStageRequest {
                api_id: api.id.clone(),
                stage_name: stage.into(),
            })
            .await?
            .into_inner())
    }

    /// Replaces every setting of the stage with `stage`'s (the mask `*`):
    /// what a test that reads a stage, changes it and sends it back means.
    pub async fn update_stage(&mut self, stage: Stage) -> anyhow::Result<Stage> {
        Ok(self
            .deployments
            .update_stage(UpdateStageRequest {
                stage: Some(stage),
                update_mask: mask(&["*"]),
            })
            .await?
            .into_inner())
    }

    /// A usage plan (`plan`, with the API's `stage` added to its stages)
    /// and a new API key named `key_name` in it; returns both (the key with
    /// its value).
    pub async fn plan_with_key(
        &mut self,
        api: &RestApi,
        stage: &str,
        mut plan: UsagePlan,
        key_name: &str,
    ) -> anyhow::Result<(UsagePlan, ApiKey)> {
        plan.api_stages.push(UsagePlanStage {
            api_id: api.id.clone(),
            stage: stage.into(),
            throttle: vec![],
        });
        let plan = self
            .plans
            .create_usage_plan(CreateUsagePlanRequest { plan: Some(plan) })
            .await?
            .into_inner();
        let key = self
            .plans
            .create_api_key(CreateApiKeyRequest {
                name: key_name.into(),
                ..Default::default()
            })
            .await?
            .into_inner();
        self.plans
            .add_key_to_plan(UsagePlanKeyRequest {
                usage_plan_id: plan.id.clone(),
                key_id: key.id.clone(),
            })
            .await?;
        Ok((plan, key))
    }

    /// Every API, through every page.
    pub async fn list_apis(&self) -> anyhow::Result<Vec<RestApi>> {
        every_page(
            &self.apis,
            ListRestApisRequest::default(),
            |mut c, r| async move { c.list_rest_apis(r).await },
        )
        .await
    }

    /// Every method of an API, through every page.
    pub async fn list_methods(&self, api_id: &str) -> anyhow::Result<Vec<Method>> {
        let request = ListMethodsRequest {
            api_id: api_id.into(),
            ..Default::default()
        };
        every_page(&self.apis, request, |mut c, r| async move {
            c.list_methods(r).await
        })
        .await
    }

    /// Every authorizer of an API, through every page.
    pub async fn list_authorizers(&self, api_id: &str) -> anyhow::Result<Vec<Authorizer>> {
        let request = ListAuthorizersRequest {
            api_id: api_id.into(),
            ..Default::default()
        };
        every_page(&self.apis, request, |mut c, r| async move {
            c.list_authorizers(r).await
        })
        .await
    }

    /// Every access key (or session) of a principal, through every page.
    pub async fn list_access_keys(&self, principal: &str) -> anyhow::Result<Vec<AccessKey>> {
        let request = ListAccessKeysRequest {
            principal: principal.into(),
            ..Default::default()
        };
        every_page(&self.iam, request, |mut c, r| async move {
            c.list_access_keys(r).await
        })
        .await
    }

    /// Every deployment of an API, newest first, through every page.
    pub async fn list_deployments(&self, api_id: &str) -> anyhow::Result<Vec<Deployment>> {
        let request = ListDeploymentsRequest {
            api_id: api_id.into(),
            ..Default::default()
        };
        let mut list = every_page(&self.deployments, request, |mut c, r| async move {
            c.list_deployments(r).await
        })
        .await?;
        list.sort_by_key(|d| std::cmp::Reverse(d.created_at_ms));
        Ok(list)
    }

    /// The control plane's version (as its last page gave it) and every
    /// node, through every page.
    pub async fn fleet_status(&mut self) -> anyhow::Result<(u64, Vec<NodeStatus>)> {
        let version = AtomicU64::new(0);
        let nodes = every_page(&self.fleet, ListNodesRequest::default(), |mut c, r| {
            let version = &version;
            async move {
                let page = c.list_nodes(r).await?;
                version.store(page.get_ref().config_version, Ordering::Relaxed);
                Ok(page)
            }
        })
        .await?;
        Ok((version.into_inner(), nodes))
    }

    /// Waits until every named node is connected and has applied the
    /// control plane's current version; returns that version.
    pub async fn wait_converged(&mut self, node_ids: &[&str]) -> anyhow::Result<u64> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (version, nodes) = self.fleet_status().await?;
            let done = node_ids.iter().all(|id| {
                nodes
                    .iter()
                    .any(|n| n.node_id == *id && n.connected && n.applied_version == version)
            });
            if done {
                return Ok(version);
            }
            if Instant::now() > deadline {
                bail!("nodes {node_ids:?} did not converge on version {version}: {nodes:?}");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}
