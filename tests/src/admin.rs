//! The admin API as a test drives it: real gRPC clients plus helpers for the
//! common steps (an API with routes, a deployment, waiting for the fleet).

use anyhow::{Context, bail};
use archway_proto::paging::all_pages;
use archway_proto::v1::configuration_service_client::ConfigurationServiceClient;
use archway_proto::v1::deployment_service_client::DeploymentServiceClient;
use archway_proto::v1::fleet_service_client::FleetServiceClient;
use archway_proto::v1::iam_service_client::IamServiceClient;
use archway_proto::v1::rest_api_service_client::RestApiServiceClient;
use archway_proto::v1::usage_plan_service_client::UsagePlanServiceClient;
use archway_proto::v1::*;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tonic::transport::Channel;

/// Adds the test admin token to every call.
#[derive(Clone)]
pub struct Bearer(pub &'static str);

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
    /// Whole documents: apply, diff, export.
    pub config: ConfigurationServiceClient<AuthChannel>,
    /// The channel without a token, to test refusals.
    pub channel: Channel,
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
    pub fn with_token(channel: Channel, token: &'static str) -> anyhow::Result<Self> {
        let authed =
            tonic::service::interceptor::InterceptedService::new(channel.clone(), Bearer(token));
        Ok(Self {
            apis: RestApiServiceClient::new(authed.clone()),
            deployments: DeploymentServiceClient::new(authed.clone()),
            fleet: FleetServiceClient::new(authed.clone()),
            plans: UsagePlanServiceClient::new(authed.clone()),
            iam: IamServiceClient::new(authed.clone()),
            config: ConfigurationServiceClient::new(authed)
                .max_decoding_message_size(256 << 20)
                .max_encoding_message_size(256 << 20),
            channel,
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
        let apis = self.apis.clone();
        let existing: HashMap<String, Resource> = all_pages(
            ListResourcesRequest {
                api_id: api.id.clone(),
                ..Default::default()
            },
            |req| {
                let mut apis = apis.clone();
                async move { Ok::<_, tonic::Status>(apis.list_resources(req).await?.into_inner()) }
            },
        )
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
        let resource = self.resource(api, path).await?;
        Ok(self
            .apis
            .put_method(PutMethodRequest {
                method: Some(Method {
                    api_id: api.id.clone(),
                    resource_id: resource.id,
                    http_method: method.into(),
                    integration: Some(integration),
                    api_key_required,
                    ..Default::default()
                }),
            })
            .await?
            .into_inner())
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
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["*".into()],
                }),
            })
            .await?
            .into_inner())
    }

    /// Every API, through every page.
    pub async fn list_apis(&self) -> anyhow::Result<Vec<RestApi>> {
        let apis = self.apis.clone();
        Ok(all_pages(ListRestApisRequest::default(), |req| {
            let mut apis = apis.clone();
            async move { Ok::<_, tonic::Status>(apis.list_rest_apis(req).await?.into_inner()) }
        })
        .await?)
    }

    /// Every method of an API, through every page.
    pub async fn list_methods(&self, api_id: &str) -> anyhow::Result<Vec<Method>> {
        let apis = self.apis.clone();
        let request = ListMethodsRequest {
            api_id: api_id.into(),
            ..Default::default()
        };
        Ok(all_pages(request, |req| {
            let mut apis = apis.clone();
            async move { Ok::<_, tonic::Status>(apis.list_methods(req).await?.into_inner()) }
        })
        .await?)
    }

    /// Every authorizer of an API, through every page.
    pub async fn list_authorizers(&self, api_id: &str) -> anyhow::Result<Vec<Authorizer>> {
        let apis = self.apis.clone();
        let request = ListAuthorizersRequest {
            api_id: api_id.into(),
            ..Default::default()
        };
        Ok(all_pages(request, |req| {
            let mut apis = apis.clone();
            async move { Ok::<_, tonic::Status>(apis.list_authorizers(req).await?.into_inner()) }
        })
        .await?)
    }

    /// Every access key (or session) of a principal, through every page.
    pub async fn list_access_keys(&self, principal: &str) -> anyhow::Result<Vec<AccessKey>> {
        let iam = self.iam.clone();
        let request = ListAccessKeysRequest {
            principal: principal.into(),
            ..Default::default()
        };
        Ok(all_pages(request, |req| {
            let mut iam = iam.clone();
            async move { Ok::<_, tonic::Status>(iam.list_access_keys(req).await?.into_inner()) }
        })
        .await?)
    }

    /// Every deployment of an API, newest first, through every page.
    pub async fn list_deployments(&self, api_id: &str) -> anyhow::Result<Vec<Deployment>> {
        let deployments = self.deployments.clone();
        let request = ListDeploymentsRequest {
            api_id: api_id.into(),
            ..Default::default()
        };
        let mut list =
            all_pages(request, |req| {
                let mut deployments = deployments.clone();
                async move {
                    Ok::<_, tonic::Status>(deployments.list_deployments(req).await?.into_inner())
                }
            })
            .await?;
        list.sort_by_key(|d| std::cmp::Reverse(d.created_at_ms));
        Ok(list)
    }

    /// The control plane's version and every node, through every page.
    pub async fn fleet_status(&mut self) -> anyhow::Result<(u64, Vec<NodeStatus>)> {
        let (mut version, mut nodes, mut token) = (0, Vec::new(), String::new());
        // Bounded: a test fleet is a page or two.
        for _ in 0..1000 {
            let page = self
                .fleet
                .list_nodes(ListNodesRequest {
                    page_size: archway_proto::paging::MAX_PAGE_SIZE,
                    page_token: token,
                })
                .await?
                .into_inner();
            version = page.config_version;
            nodes.extend(page.nodes);
            token = page.next_page_token;
            if token.is_empty() {
                return Ok((version, nodes));
            }
        }
        bail!("the node list did not end after 1000 pages (version {version})")
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
