//! `archwayctl get`: every resource as a table, YAML or JSON (`-o`), read
//! through every page of its list. `get api` is the whole configuration of
//! one API: its settings, authorizers, every method with its integration
//! and authorization, and its stages with their variables.

use super::client::{AdminClient, status_error};
use super::output::{self, Format, Table, json, json_list, table_time};
use super::resolve;
use crate::all_pages;
use crate::enums::{API_KEY_SOURCE, API_PROTOCOL, AUTHORIZER_TYPE, ENDPOINT_TYPE, QUOTA_PERIOD};
use archway_proto::v1::*;
use clap::Subcommand;
use serde_json::{Value as Json, json as j};

#[derive(Debug, Subcommand)]
pub enum GetCommand {
    /// Every API.
    Apis,
    /// One API's whole configuration (by id or name).
    Api { api: String },
    /// An API's resources (paths).
    #[command(alias = "routes")]
    Resources { api: String },
    /// An API's methods with their integration and authorization.
    Methods { api: String },
    /// An API's authorizers.
    Authorizers { api: String },
    /// An API's stages.
    Stages { api: String },
    /// An API's models (JSON Schemas).
    Models { api: String },
    /// An API's request validators.
    Validators { api: String },
    /// An API's customised gateway responses.
    GatewayResponses { api: String },
    /// An API's deployments, newest first.
    Deployments { api: String },
    /// API keys (never their values).
    Keys,
    /// Usage plans.
    Plans,
    /// Requests per key and day of a usage plan (by id or name).
    Usage {
        plan: String,
        /// One key only (id or name).
        #[arg(long)]
        key: Option<String>,
        /// First day, YYYY-MM-DD (default: today, UTC).
        #[arg(long)]
        from: Option<String>,
        /// Last day, YYYY-MM-DD (default: today, UTC).
        #[arg(long)]
        to: Option<String>,
    },
    /// IAM users and roles.
    Principals,
    /// A user's access keys or a role's sessions (never their secrets).
    AccessKeys { principal: String },
    /// Outbound AWS credentials (never their secrets).
    OutboundCredentials,
    /// Admin API tokens (never their secrets).
    Tokens,
    /// The data-plane fleet and the version each node serves.
    Nodes,
}

/// An enum value's name without its type's prefix, for the enums no
/// document spells (`USER` for `PRINCIPAL_TYPE_USER`); the others go
/// through their [`crate::enums::Spelling`].
fn short(name: &str, prefix: &str) -> String {
    crate::enums::short_name(name, prefix).to_owned()
}

fn or_dash(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s.to_owned()
    }
}

fn protocol_name(value: i32) -> String {
    let p = ApiProtocol::try_from(value).unwrap_or(ApiProtocol::Rest);
    API_PROTOCOL.short(p).replace("UNSPECIFIED", "REST")
}

fn describe_integration(integration: Option<&Integration>) -> String {
    let Some(i) = integration else {
        return "(no integration)".into();
    };
    match IntegrationType::try_from(i.r#type) {
        Ok(IntegrationType::HttpProxy) if i.http_method.is_empty() => {
            format!("HTTP_PROXY {}", i.uri)
        }
        Ok(IntegrationType::HttpProxy) => format!("HTTP_PROXY {} {}", i.http_method, i.uri),
        Ok(IntegrationType::Mock) => match &i.mock {
            Some(m) => format!("MOCK {}", m.status_code),
            None => "MOCK (templates)".into(),
        },
        Ok(IntegrationType::Http) => format!("HTTP {}", i.uri),
        Ok(IntegrationType::Aws) => format!("AWS {}", i.uri),
        Ok(IntegrationType::AwsProxy) if !i.integration_subtype.is_empty() => {
            format!("AWS_PROXY {}", i.integration_subtype)
        }
        Ok(IntegrationType::AwsProxy) => format!("AWS_PROXY {}", i.uri),
        _ => "?".into(),
    }
}

fn authorization(m: &Method) -> String {
    if m.authorization_type.is_empty() {
        "NONE".into()
    } else {
        m.authorization_type.clone()
    }
}

fn variables(map: &std::collections::BTreeMap<String, String>) -> String {
    if map.is_empty() {
        return "-".into();
    }
    map.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn canary(s: &Stage) -> String {
    s.canary.as_ref().map_or("-".into(), |c| {
        format!("{} at {}%", c.deployment_id, c.percent_traffic)
    })
}

async fn resources(client: &AdminClient, api_id: &str) -> anyhow::Result<Vec<Resource>> {
    let mut list = all_pages!(
        client.apis,
        list_resources,
        ListResourcesRequest {
            api_id: api_id.into(),
            ..Default::default()
        },
        "listing resources"
    )?;
    list.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(list)
}

async fn methods(client: &AdminClient, api_id: &str) -> anyhow::Result<Vec<Method>> {
    all_pages!(
        client.apis,
        list_methods,
        ListMethodsRequest {
            api_id: api_id.into(),
            ..Default::default()
        },
        "listing methods"
    )
}

async fn authorizers(client: &AdminClient, api_id: &str) -> anyhow::Result<Vec<Authorizer>> {
    all_pages!(
        client.apis,
        list_authorizers,
        ListAuthorizersRequest {
            api_id: api_id.into(),
            ..Default::default()
        },
        "listing authorizers"
    )
}

async fn stages(client: &AdminClient, api_id: &str) -> anyhow::Result<Vec<Stage>> {
    all_pages!(
        client.deployments,
        list_stages,
        ListStagesRequest {
            api_id: api_id.into(),
            ..Default::default()
        },
        "listing stages"
    )
}

/// An API's deployments, newest first (the server pages them in id order).
pub async fn deployments(client: &AdminClient, api_id: &str) -> anyhow::Result<Vec<Deployment>> {
    let mut list = all_pages!(
        client.deployments,
        list_deployments,
        ListDeploymentsRequest {
            api_id: api_id.into(),
            ..Default::default()
        },
        "listing deployments"
    )?;
    list.sort_by_key(|d| std::cmp::Reverse(d.created_at_ms));
    Ok(list)
}

fn methods_table(resources: &[Resource], methods: &[Method], authorizers: &[Authorizer]) -> Table {
    let mut t = Table::new(&[
        "METHOD",
        "PATH",
        "AUTHORIZATION",
        "AUTHORIZER",
        "SCOPES",
        "API KEY",
        "INTEGRATION",
    ]);
    for r in resources {
        for m in methods.iter().filter(|m| m.resource_id == r.id) {
            let authorizer = authorizers
                .iter()
                .find(|a| a.id == m.authorizer_id)
                .map_or(or_dash(&m.authorizer_id), |a| {
                    format!("{} ({})", a.name, a.id)
                });
            t.row(vec![
                m.http_method.clone(),
                r.path.clone(),
                authorization(m),
                authorizer,
                or_dash(&m.authorization_scopes.join(",")),
                if m.api_key_required { "required" } else { "-" }.into(),
                describe_integration(m.integration.as_ref()),
            ]);
        }
    }
    t
}

/// A WEBSOCKET API's routes: by key (they are all on `/`), whether they
/// answer the client (two-way), and `$connect`'s authorization.
fn routes_table(methods: &[Method], authorizers: &[Authorizer]) -> Table {
    let mut t = Table::new(&[
        "ROUTE KEY",
        "RESPONSE",
        "AUTHORIZATION",
        "AUTHORIZER",
        "API KEY",
        "INTEGRATION",
    ]);
    let mut sorted: Vec<&Method> = methods.iter().collect();
    // The reserved keys first, in a connection's order, then custom keys.
    let rank = |k: &str| match k {
        "$connect" => 0,
        "$default" => 1,
        "$disconnect" => 3,
        _ => 2,
    };
    sorted.sort_by(|a, b| {
        (rank(&a.http_method), &a.http_method).cmp(&(rank(&b.http_method), &b.http_method))
    });
    for m in sorted {
        let authorizer = authorizers
            .iter()
            .find(|a| a.id == m.authorizer_id)
            .map_or(or_dash(&m.authorizer_id), |a| {
                format!("{} ({})", a.name, a.id)
            });
        t.row(vec![
            m.http_method.clone(),
            if m.route_response_selection_expression.is_empty() {
                "one-way"
            } else {
                "two-way"
            }
            .into(),
            authorization(m),
            authorizer,
            if m.api_key_required { "required" } else { "-" }.into(),
            describe_integration(m.integration.as_ref()),
        ]);
    }
    t
}

fn is_websocket(api: &RestApi) -> bool {
    api.protocol() == ApiProtocol::Websocket
}

fn authorizers_table(list: &[Authorizer]) -> Table {
    let mut t = Table::new(&["ID", "NAME", "TYPE", "IDENTITY SOURCE", "ISSUER / URI"]);
    for a in list {
        let target = match &a.jwt {
            Some(jwt) if a.r#type == AuthorizerType::Jwt as i32 => jwt.issuer.clone(),
            _ => a.authorizer_uri.clone(),
        };
        t.row(vec![
            a.id.clone(),
            a.name.clone(),
            AUTHORIZER_TYPE.short(a.r#type()).to_owned(),
            or_dash(&a.identity_source),
            or_dash(&target),
        ]);
    }
    t
}

fn stages_table(list: &[Stage]) -> Table {
    let mut t = Table::new(&[
        "STAGE",
        "DEPLOYMENT",
        "CANARY",
        "CACHE",
        "UPDATED",
        "VARIABLES",
    ]);
    for s in list {
        t.row(vec![
            s.stage_name.clone(),
            s.deployment_id.clone(),
            canary(s),
            if s.cache_cluster_enabled { "on" } else { "off" }.into(),
            table_time(s.updated_at_ms),
            variables(&s.variables),
        ]);
    }
    t
}

/// Runs one `get` command, printing in `format`.
pub async fn run(client: &AdminClient, what: GetCommand, format: Format) -> anyhow::Result<()> {
    match what {
        GetCommand::Apis => {
            let apis = all_pages!(
                client.apis,
                list_rest_apis,
                ListRestApisRequest::default(),
                "listing APIs"
            )?;
            output::print(
                format,
                || json_list(&apis, "RestApi"),
                || {
                    let mut t = Table::new(&["ID", "NAME", "PROTOCOL", "ENDPOINT", "CREATED"]);
                    for a in &apis {
                        t.row(vec![
                            a.id.clone(),
                            a.name.clone(),
                            protocol_name(a.protocol),
                            ENDPOINT_TYPE.short(a.endpoint_type()).to_owned(),
                            table_time(a.created_at_ms),
                        ]);
                    }
                    t.render()
                },
            )
        }
        GetCommand::Api { api } => {
            let api = resolve::api(client, &api).await?;
            let resources = resources(client, &api.id).await?;
            let methods = methods(client, &api.id).await?;
            let authorizers = authorizers(client, &api.id).await?;
            let stages = stages(client, &api.id).await?;
            output::print(
                format,
                || {
                    let resources: Vec<Json> = resources
                        .iter()
                        .map(|r| {
                            let mut value = json(r, "Resource");
                            let own: Vec<&Method> =
                                methods.iter().filter(|m| m.resource_id == r.id).collect();
                            value["methods"] =
                                Json::Array(own.iter().map(|m| json(*m, "Method")).collect());
                            value
                        })
                        .collect();
                    j!({
                        "api": json(&api, "RestApi"),
                        "authorizers": json_list(&authorizers, "Authorizer"),
                        "resources": resources,
                        "stages": json_list(&stages, "Stage"),
                    })
                },
                || {
                    let mut out = format!(
                        "API         {} ({})\nPROTOCOL    {}\nENDPOINT    {}\nKEY SOURCE  {}\nPOLICY      {}\nCREATED     {}\n",
                        api.name,
                        api.id,
                        protocol_name(api.protocol),
                        ENDPOINT_TYPE.short(api.endpoint_type()),
                        API_KEY_SOURCE.short(api.api_key_source()),
                        if api.policy.trim().is_empty() {
                            "none"
                        } else {
                            "yes (see -o yaml)"
                        },
                        table_time(api.created_at_ms),
                    );
                    if !api.description.is_empty() {
                        out.push_str(&format!("DESCRIPTION {}\n", api.description));
                    }
                    if is_websocket(&api) {
                        out.push_str(&format!(
                            "ROUTE BY    {}\n",
                            or_dash(&api.route_selection_expression)
                        ));
                    }
                    out.push('\n');
                    if is_websocket(&api) {
                        out.push_str(&routes_table(&methods, &authorizers).render());
                    } else {
                        out.push_str(&methods_table(&resources, &methods, &authorizers).render());
                    }
                    if !authorizers.is_empty() {
                        out.push('\n');
                        out.push_str(&authorizers_table(&authorizers).render());
                    }
                    out.push('\n');
                    out.push_str(&stages_table(&stages).render());
                    out
                },
            )
        }
        GetCommand::Resources { api } => {
            let api_id = resolve::api_id(client, &api).await?;
            let resources = resources(client, &api_id).await?;
            let methods = methods(client, &api_id).await?;
            output::print(
                format,
                || json_list(&resources, "Resource"),
                || {
                    let mut t = Table::new(&["PATH", "ID", "METHODS"]);
                    for r in &resources {
                        let verbs: Vec<&str> = methods
                            .iter()
                            .filter(|m| m.resource_id == r.id)
                            .map(|m| m.http_method.as_str())
                            .collect();
                        t.row(vec![
                            r.path.clone(),
                            r.id.clone(),
                            or_dash(&verbs.join(",")),
                        ]);
                    }
                    t.render()
                },
            )
        }
        GetCommand::Methods { api } => {
            let api = resolve::api(client, &api).await?;
            let resources = resources(client, &api.id).await?;
            let methods = methods(client, &api.id).await?;
            let authorizers = authorizers(client, &api.id).await?;
            output::print(
                format,
                || json_list(&methods, "Method"),
                || {
                    if is_websocket(&api) {
                        routes_table(&methods, &authorizers).render()
                    } else {
                        methods_table(&resources, &methods, &authorizers).render()
                    }
                },
            )
        }
        GetCommand::Authorizers { api } => {
            let api_id = resolve::api_id(client, &api).await?;
            let list = authorizers(client, &api_id).await?;
            output::print(
                format,
                || json_list(&list, "Authorizer"),
                || authorizers_table(&list).render(),
            )
        }
        GetCommand::Stages { api } => {
            let api_id = resolve::api_id(client, &api).await?;
            let list = stages(client, &api_id).await?;
            output::print(
                format,
                || json_list(&list, "Stage"),
                || stages_table(&list).render(),
            )
        }
        GetCommand::Models { api } => {
            let api_id = resolve::api_id(client, &api).await?;
            let list = all_pages!(
                client.apis,
                list_models,
                ListModelsRequest {
                    api_id,
                    ..Default::default()
                },
                "listing models"
            )?;
            output::print(
                format,
                || json_list(&list, "Model"),
                || {
                    let mut t = Table::new(&["NAME", "ID", "CONTENT TYPE", "DESCRIPTION"]);
                    for m in &list {
                        t.row(vec![
                            m.name.clone(),
                            m.id.clone(),
                            m.content_type.clone(),
                            or_dash(&m.description),
                        ]);
                    }
                    t.render()
                },
            )
        }
        GetCommand::Validators { api } => {
            let api_id = resolve::api_id(client, &api).await?;
            let list = all_pages!(
                client.apis,
                list_request_validators,
                ListRequestValidatorsRequest {
                    api_id,
                    ..Default::default()
                },
                "listing request validators"
            )?;
            output::print(
                format,
                || json_list(&list, "RequestValidator"),
                || {
                    let mut t = Table::new(&["ID", "NAME", "BODY", "PARAMETERS"]);
                    for v in &list {
                        t.row(vec![
                            v.id.clone(),
                            v.name.clone(),
                            v.validate_request_body.to_string(),
                            v.validate_request_parameters.to_string(),
                        ]);
                    }
                    t.render()
                },
            )
        }
        GetCommand::GatewayResponses { api } => {
            let api_id = resolve::api_id(client, &api).await?;
            let list = client
                .apis
                .clone()
                .list_gateway_responses(ListGatewayResponsesRequest { api_id })
                .await
                .map_err(|s| super::client::status_error("listing gateway responses", s))?
                .into_inner()
                .items;
            output::print(
                format,
                || json_list(&list, "GatewayResponse"),
                || {
                    let mut t = Table::new(&["TYPE", "STATUS", "HEADERS", "TEMPLATES"]);
                    for g in &list {
                        t.row(vec![
                            g.response_type.clone(),
                            or_dash(&g.status_code),
                            g.response_parameters.len().to_string(),
                            g.response_templates.len().to_string(),
                        ]);
                    }
                    t.render()
                },
            )
        }
        GetCommand::OutboundCredentials => {
            let list = all_pages!(
                client.iam,
                list_outbound_credentials,
                ListOutboundCredentialsRequest::default(),
                "listing outbound credentials"
            )?;
            output::print(
                format,
                || json_list(&list, "OutboundCredential"),
                || {
                    let mut t = Table::new(&["NAME", "ACCESS KEY ID", "ROLE ARN", "UPDATED"]);
                    for c in &list {
                        t.row(vec![
                            c.name.clone(),
                            c.access_key_id.clone(),
                            or_dash(&c.role_arn),
                            table_time(c.updated_at_ms),
                        ]);
                    }
                    t.render()
                },
            )
        }
        GetCommand::Deployments { api } => {
            let api_id = resolve::api_id(client, &api).await?;
            let list = deployments(client, &api_id).await?;
            output::print(
                format,
                || json_list(&list, "Deployment"),
                || {
                    let mut t = Table::new(&["ID", "CREATED", "DESCRIPTION"]);
                    for d in &list {
                        t.row(vec![
                            d.id.clone(),
                            table_time(d.created_at_ms),
                            d.description.clone(),
                        ]);
                    }
                    t.render()
                },
            )
        }
        GetCommand::Keys => {
            let keys = all_pages!(
                client.plans,
                list_api_keys,
                ListApiKeysRequest::default(),
                "listing API keys"
            )?;
            output::print(
                format,
                || json_list(&keys, "ApiKey"),
                || {
                    let mut t =
                        Table::new(&["ID", "NAME", "ENABLED", "PREFIX", "PLANS", "CREATED"]);
                    for k in &keys {
                        t.row(vec![
                            k.id.clone(),
                            k.name.clone(),
                            k.enabled.to_string(),
                            k.value_prefix.clone(),
                            or_dash(&k.usage_plan_ids.join(",")),
                            table_time(k.created_at_ms),
                        ]);
                    }
                    t.render()
                },
            )
        }
        GetCommand::Plans => {
            let plans = all_pages!(
                client.plans,
                list_usage_plans,
                ListUsagePlansRequest::default(),
                "listing usage plans"
            )?;
            output::print(
                format,
                || json_list(&plans, "UsagePlan"),
                || {
                    let mut t = Table::new(&["ID", "NAME", "THROTTLE", "QUOTA", "STAGES"]);
                    for p in &plans {
                        let throttle = p.throttle.as_ref().map_or("-".into(), |t| {
                            format!("{}/s burst {}", t.rate_limit, t.burst_limit)
                        });
                        let quota = p
                            .quota
                            .as_ref()
                            .filter(|q| q.limit > 0)
                            .map_or("-".into(), |q| {
                                format!("{}/{}", q.limit, QUOTA_PERIOD.short(q.period()))
                            });
                        let stages: Vec<String> = p
                            .api_stages
                            .iter()
                            .map(|s| format!("{}:{}", s.api_id, s.stage))
                            .collect();
                        t.row(vec![
                            p.id.clone(),
                            p.name.clone(),
                            throttle,
                            quota,
                            or_dash(&stages.join(",")),
                        ]);
                    }
                    t.render()
                },
            )
        }
        GetCommand::Usage {
            plan,
            key,
            from,
            to,
        } => {
            let plan_id = resolve::plan_id(client, &plan).await?;
            let key_id = match key {
                Some(k) => resolve::key_id(client, &k).await?,
                None => String::new(),
            };
            let today = archway_proto::quota::date_string(archway_proto::quota::day_of(
                crate::ids::now_ms(),
            ));
            let items = client
                .plans
                .clone()
                .get_usage(GetUsageRequest {
                    usage_plan_id: plan_id,
                    key_id,
                    start_date: from.unwrap_or_else(|| today.clone()),
                    end_date: to.unwrap_or(today),
                })
                .await
                .map_err(|s| status_error("reading usage", s))?
                .into_inner()
                .items;
            output::print(
                format,
                || json_list(&items, "UsageEntry"),
                || {
                    let mut t = Table::new(&["KEY", "DATE", "USED", "REMAINING"]);
                    for i in &items {
                        let remaining = i.remaining.map_or("-".to_string(), |r| r.to_string());
                        t.row(vec![
                            i.key_id.clone(),
                            i.date.clone(),
                            i.used.to_string(),
                            remaining,
                        ]);
                    }
                    t.render()
                },
            )
        }
        GetCommand::Principals => {
            let list = all_pages!(
                client.iam,
                list_principals,
                ListPrincipalsRequest::default(),
                "listing principals"
            )?;
            output::print(
                format,
                || json_list(&list, "IamPrincipal"),
                || {
                    let mut t = Table::new(&["NAME", "TYPE", "POLICIES", "CREATED", "ARN"]);
                    for p in &list {
                        t.row(vec![
                            p.name.clone(),
                            short(p.r#type().as_str_name(), "PRINCIPAL_TYPE_").to_lowercase(),
                            p.policies.len().to_string(),
                            table_time(p.created_at_ms),
                            p.arn.clone(),
                        ]);
                    }
                    t.render()
                },
            )
        }
        GetCommand::AccessKeys { principal } => {
            let list = all_pages!(
                client.iam,
                list_access_keys,
                ListAccessKeysRequest {
                    principal,
                    ..Default::default()
                },
                "listing access keys"
            )?;
            output::print(
                format,
                || json_list(&list, "AccessKey"),
                || {
                    let mut t =
                        Table::new(&["ACCESS KEY ID", "STATUS", "CREATED", "EXPIRES", "SESSION"]);
                    for k in &list {
                        t.row(vec![
                            k.access_key_id.clone(),
                            if k.enabled { "active" } else { "inactive" }.into(),
                            table_time(k.created_at_ms),
                            table_time(k.expires_at_ms),
                            or_dash(&k.session_name),
                        ]);
                    }
                    t.render()
                },
            )
        }
        GetCommand::Tokens => {
            let list = all_pages!(
                client.tokens,
                list_tokens,
                ListTokensRequest::default(),
                "listing tokens"
            )?;
            output::print(
                format,
                || json_list(&list, "AdminToken"),
                || {
                    let mut t = Table::new(&["ID", "ROLE", "CREATED", "NAME"]);
                    for tok in &list {
                        t.row(vec![
                            tok.id.clone(),
                            short(tok.role().as_str_name(), "TOKEN_ROLE_")
                                .to_lowercase()
                                .replace('_', "-"),
                            table_time(tok.created_at_ms),
                            tok.name.clone(),
                        ]);
                    }
                    t.render()
                },
            )
        }
        GetCommand::Nodes => {
            // The version comes with every page; the last page's is the
            // newest.
            let version = std::cell::Cell::new(0);
            let nodes = archway_proto::paging::all_pages(ListNodesRequest::default(), |req| {
                let mut fleet = client.fleet.clone();
                let version = &version;
                async move {
                    let page = fleet.list_nodes(req).await?.into_inner();
                    version.set(page.config_version);
                    Ok::<_, tonic::Status>(page)
                }
            })
            .await
            .map_err(|s| status_error("listing nodes", s))?;
            let version = version.get();
            let now = crate::ids::now_ms();
            output::print(
                format,
                || j!({"config_version": version, "nodes": json_list(&nodes, "NodeStatus")}),
                || {
                    let mut t =
                        Table::new(&["NODE", "CONNECTED", "APPLIED", "SENT", "SEEN", "LAST ERROR"]);
                    for n in &nodes {
                        let error = if n.last_error.is_empty() {
                            "-".into()
                        } else {
                            format!("v{}: {}", n.last_error_version, n.last_error)
                        };
                        t.row(vec![
                            n.node_id.clone(),
                            n.connected.to_string(),
                            n.applied_version.to_string(),
                            n.sent_version.to_string(),
                            format!("{}s ago", (now - n.last_seen_ms).max(0) / 1000),
                            error,
                        ]);
                    }
                    format!("control plane version {version}\n{}", t.render())
                },
            )
        }
    }
}
