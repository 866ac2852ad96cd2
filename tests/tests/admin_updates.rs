//! Updates change only what the caller sent (field masks, AIP-134), lists
//! come in pages the CLI follows, and `archwayctl get` prints every
//! resource as a table, YAML or JSON with names accepted for ids.

use archway_e2e::admin::{assert_invalid_says, authorizer, mask, mock};
use archway_e2e::ctl::{ctl, ctl_json, ctl_refused};
use archway_e2e::{Admin, started};
use archway_proto::v1::*;

/// `2026-12-01T21:30:05.123Z`: RFC 3339 in UTC with milliseconds.
fn is_rfc3339(value: &serde_json::Value) -> bool {
    let Some(s) = value.as_str() else {
        return false;
    };
    let b = s.as_bytes();
    b.len() == 24
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[23] == b'Z'
        && s.chars()
            .enumerate()
            .all(|(i, c)| [4, 7, 10, 13, 16, 19, 23].contains(&i) || c.is_ascii_digit())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rename_keeps_it_enabled_and_a_mask_disables_or_clears() -> anyhow::Result<()> {
    let (_dir, _cp, mut admin) = started().await?;
    let key = admin
        .plans
        .create_api_key(CreateApiKeyRequest {
            name: "partner".into(),
            description: "the partner's key".into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert!(key.enabled);
    // An old client's rename: only the name is sent (enabled is false on
    // the wire's default). The key stays enabled and keeps its description.
    let renamed = admin
        .plans
        .update_api_key(UpdateApiKeyRequest {
            key_id: key.id.clone(),
            name: "partner-2".into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(renamed.name, "partner-2");
    assert!(renamed.enabled, "a rename must not disable the key");
    assert_eq!(renamed.description, "the partner's key");
    // The mask names enabled: it goes to false, nothing else moves.
    let disabled = admin
        .plans
        .update_api_key(UpdateApiKeyRequest {
            key_id: key.id.clone(),
            update_mask: mask(&["enabled"]),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert!(!disabled.enabled);
    assert_eq!(disabled.name, "partner-2");
    // A named, empty description is cleared.
    let cleared = admin
        .plans
        .update_api_key(UpdateApiKeyRequest {
            key_id: key.id.clone(),
            update_mask: mask(&["description"]),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(cleared.description, "");
    assert!(!cleared.enabled);
    // A request that sets nothing is refused, not taken as "no change".
    assert_invalid_says(
        admin
            .plans
            .update_api_key(UpdateApiKeyRequest {
                key_id: key.id.clone(),
                ..Default::default()
            })
            .await,
        "update_mask: the request sets none of name, description, enabled",
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_description_update_keeps_its_name_policy_and_settings() -> anyhow::Result<()> {
    let (_dir, _cp, mut admin) = started().await?;
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*"}]}"#;
    let api = admin
        .apis
        .create_rest_api(CreateRestApiRequest {
            id: "pets".into(),
            name: "pets".into(),
            description: "v1".into(),
            api_key_source: ApiKeySource::Authorizer as i32,
            policy: policy.into(),
            endpoint_type: EndpointType::Private as i32,
            ..Default::default()
        })
        .await?
        .into_inner();
    let updated = admin
        .apis
        .update_rest_api(UpdateRestApiRequest {
            api_id: api.id.clone(),
            description: "v2".into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(
        updated,
        RestApi {
            description: "v2".into(),
            ..api.clone()
        },
        "only the description changed"
    );
    // Named and empty: the policy is dropped, the rest stays.
    let lifted = admin
        .apis
        .update_rest_api(UpdateRestApiRequest {
            api_id: api.id.clone(),
            update_mask: mask(&["policy"]),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(lifted.policy, "");
    assert_eq!(lifted.name, "pets");
    assert_eq!(lifted.endpoint_type, EndpointType::Private as i32);
    // The merged API is validated as before: a named, empty name is refused.
    assert_invalid_says(
        admin
            .apis
            .update_rest_api(UpdateRestApiRequest {
                api_id: api.id.clone(),
                update_mask: mask(&["name"]),
                ..Default::default()
            })
            .await,
        "name:",
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stage_variables_update_keeps_the_canary() -> anyhow::Result<()> {
    let (_dir, _cp, mut admin) = started().await?;
    let api = admin.create_api("shop", ApiProtocol::Rest).await?;
    admin.route(&api, "/health", "GET", mock(200, "v1")).await?;
    let first = admin.deploy(&api, "prod").await?;
    let second = admin
        .deployments
        .create_deployment(CreateDeploymentRequest {
            api_id: api.id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let mut stage = admin.stage(&api, "prod").await?;
    stage.canary = Some(CanarySettings {
        deployment_id: second.id.clone(),
        percent_traffic: 10.0,
        ..Default::default()
    });
    stage.description = "live".into();
    admin.update_stage(stage).await?;

    let updated = admin
        .deployments
        .update_stage(UpdateStageRequest {
            stage: Some(Stage {
                api_id: api.id.clone(),
                stage_name: "prod".into(),
                variables: [("host".to_string(), "h1".to_string())].into(),
                ..Default::default()
            }),
            update_mask: None,
        })
        .await?
        .into_inner();
    assert_eq!(updated.variables["host"], "h1");
    assert_eq!(updated.deployment_id, first.id);
    assert_eq!(updated.description, "live");
    let canary = updated.canary.clone().expect("the canary is kept");
    assert_eq!(
        (canary.deployment_id.as_str(), canary.percent_traffic),
        (second.id.as_str(), 10.0)
    );

    // A nested path changes one field of the canary.
    let moved = admin
        .deployments
        .update_stage(UpdateStageRequest {
            stage: Some(Stage {
                api_id: api.id.clone(),
                stage_name: "prod".into(),
                canary: Some(CanarySettings {
                    percent_traffic: 50.0,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            update_mask: mask(&["canary.percent_traffic"]),
        })
        .await?
        .into_inner();
    let canary = moved.canary.expect("still there");
    assert_eq!(
        (canary.deployment_id.as_str(), canary.percent_traffic),
        (second.id.as_str(), 50.0)
    );
    assert_eq!(moved.variables["host"], "h1");

    // Naming the canary without one removes it.
    let removed = admin
        .deployments
        .update_stage(UpdateStageRequest {
            stage: Some(Stage {
                api_id: api.id.clone(),
                stage_name: "prod".into(),
                ..Default::default()
            }),
            update_mask: mask(&["canary"]),
        })
        .await?
        .into_inner();
    assert!(removed.canary.is_none());
    assert_eq!(removed.variables["host"], "h1");
    assert_eq!(removed.created_at_ms, updated.created_at_ms);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_other_update_changes_only_what_was_sent() -> anyhow::Result<()> {
    let (_dir, _cp, mut admin) = started().await?;
    let api = admin.create_api("shop", ApiProtocol::Rest).await?;
    admin.route(&api, "/a/b", "GET", mock(200, "x")).await?;
    admin.deploy(&api, "prod").await?;

    // UpdateResource: a rename keeps the parent.
    let b = admin.resource(&api, "/a/b").await?;
    let renamed = admin
        .apis
        .update_resource(UpdateResourceRequest {
            api_id: api.id.clone(),
            resource_id: b.id.clone(),
            path_part: "c".into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(
        (renamed.parent_id.as_str(), renamed.path.as_str()),
        (b.parent_id.as_str(), "/a/c")
    );

    // UpdateAuthorizer: a rename keeps the URI, identity source and TTL.
    let tokens = authorizer(
        &api,
        "tokens",
        AuthorizerType::Token,
        "http://127.0.0.1:9/auth",
    );
    let authorizer = admin
        .create_authorizer(Authorizer {
            identity_source: "X-Token".into(),
            result_ttl_seconds: Some(60),
            ..tokens
        })
        .await?;
    let renamed = admin
        .apis
        .update_authorizer(UpdateAuthorizerRequest {
            authorizer: Some(Authorizer {
                api_id: api.id.clone(),
                id: authorizer.id.clone(),
                name: "tokens-2".into(),
                ..Default::default()
            }),
            update_mask: None,
        })
        .await?
        .into_inner();
    assert_eq!(
        renamed,
        Authorizer {
            name: "tokens-2".into(),
            ..authorizer.clone()
        }
    );
    // Its type cannot change, with or without a mask.
    let retyped = Authorizer {
        r#type: AuthorizerType::Request as i32,
        ..renamed.clone()
    };
    assert_invalid_says(
        admin
            .apis
            .update_authorizer(UpdateAuthorizerRequest {
                authorizer: Some(retyped.clone()),
                update_mask: None,
            })
            .await,
        "authorizer.type: cannot be changed",
    );
    assert_invalid_says(
        admin
            .apis
            .update_authorizer(UpdateAuthorizerRequest {
                authorizer: Some(retyped),
                update_mask: mask(&["type"]),
            })
            .await,
        "'type' cannot be changed",
    );

    // UpdateUsagePlan: a new description keeps throttle, quota and stages.
    let plan = admin
        .plans
        .create_usage_plan(CreateUsagePlanRequest {
            plan: Some(UsagePlan {
                name: "gold".into(),
                throttle: Some(ThrottleSettings {
                    rate_limit: 10.0,
                    burst_limit: 20,
                }),
                quota: Some(QuotaSettings {
                    limit: 1000,
                    period: QuotaPeriod::Day as i32,
                    offset: 0,
                }),
                api_stages: vec![UsagePlanStage {
                    api_id: api.id.clone(),
                    stage: "prod".into(),
                    throttle: vec![],
                }],
                ..Default::default()
            }),
        })
        .await?
        .into_inner();
    let described = admin
        .plans
        .update_usage_plan(UpdateUsagePlanRequest {
            plan: Some(UsagePlan {
                id: plan.id.clone(),
                description: "for partners".into(),
                ..Default::default()
            }),
            update_mask: None,
        })
        .await?
        .into_inner();
    assert_eq!(
        described,
        UsagePlan {
            description: "for partners".into(),
            ..plan.clone()
        }
    );
    // throttle.burst_limit alone; then the quota named and absent: removed.
    let burst = admin
        .plans
        .update_usage_plan(UpdateUsagePlanRequest {
            plan: Some(UsagePlan {
                id: plan.id.clone(),
                throttle: Some(ThrottleSettings {
                    rate_limit: 0.0,
                    burst_limit: 30,
                }),
                ..Default::default()
            }),
            update_mask: mask(&["throttle.burst_limit", "quota"]),
        })
        .await?
        .into_inner();
    assert_eq!(
        burst.throttle,
        Some(ThrottleSettings {
            rate_limit: 10.0,
            burst_limit: 30
        })
    );
    assert!(burst.quota.is_none());
    assert_eq!(burst.description, "for partners");

    // UpdatePrincipal: a description keeps the policies.
    let policy = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}}"#;
    let alice = admin
        .create_principal("alice", PrincipalType::User, vec![policy.into()])
        .await?;
    let described = admin
        .iam
        .update_principal(UpdatePrincipalRequest {
            principal: Some(IamPrincipal {
                name: "alice".into(),
                description: "on call".into(),
                ..Default::default()
            }),
            update_mask: None,
        })
        .await?
        .into_inner();
    assert_eq!(
        described,
        IamPrincipal {
            description: "on call".into(),
            ..alice
        }
    );

    // UpdateAccessKey: enabled only when sent (set or named).
    let key = admin.access_key("alice").await?;
    assert_invalid_says(
        admin
            .iam
            .update_access_key(UpdateAccessKeyRequest {
                access_key_id: key.access_key_id.clone(),
                ..Default::default()
            })
            .await,
        "update_mask: the request sets none of enabled",
    );
    let off = admin
        .iam
        .update_access_key(UpdateAccessKeyRequest {
            access_key_id: key.access_key_id.clone(),
            enabled: Some(false),
            update_mask: None,
        })
        .await?
        .into_inner();
    assert!(!off.enabled);
    Ok(())
}

/// Unknown, fixed and unnestable paths are refused with the path and the
/// reason, each way around the rule tried, and the record is unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_fixed_mask_paths_are_refused_and_change_nothing() -> anyhow::Result<()> {
    let (_dir, _cp, mut admin) = started().await?;
    let api = admin.create_api("shop", ApiProtocol::Rest).await?;
    admin.route(&api, "/health", "GET", mock(200, "v1")).await?;
    admin.deploy(&api, "prod").await?;
    let mut stage = admin.stage(&api, "prod").await?;
    stage.variables.insert("host".into(), "h1".into());
    let before = admin.update_stage(stage).await?;
    let try_mask = |paths: &[&str]| UpdateStageRequest {
        stage: Some(Stage {
            api_id: api.id.clone(),
            stage_name: "prod".into(),
            description: "changed".into(),
            ..Default::default()
        }),
        update_mask: mask(paths),
    };
    for (paths, expected) in [
        (
            &["descripton"][..],
            "update_mask.paths[0]: 'descripton' is not a field of Stage",
        ),
        (
            &["description", "nope"][..],
            "update_mask.paths[1]: 'nope' is not a field of Stage",
        ),
        (
            &["stage_name"][..],
            "'stage_name' cannot be changed: names the stage",
        ),
        (
            &["created_at_ms"][..],
            "'created_at_ms' cannot be changed: set by the control plane",
        ),
        (
            &["cache_flush_generation"][..],
            "'cache_flush_generation' cannot be changed: only FlushStageCache raises it",
        ),
        (
            &["previous_deployment_ids"][..],
            "'previous_deployment_ids' cannot be changed: the control plane keeps it",
        ),
        (
            &["canary.nope"][..],
            "'canary.nope': no field 'nope' in CanarySettings",
        ),
        (
            &["variables.host"][..],
            "'variables' has no fields of its own",
        ),
        (
            &["description.x"][..],
            "'description' has no fields of its own",
        ),
        (&["canary."][..], "no field '' in CanarySettings"),
    ] {
        assert_invalid_says(
            admin.deployments.update_stage(try_mask(paths)).await,
            expected,
        );
    }
    // A key's mask cannot reach fields the call does not change.
    let key = admin
        .plans
        .create_api_key(CreateApiKeyRequest {
            name: "k".into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_invalid_says(
        admin
            .plans
            .update_api_key(UpdateApiKeyRequest {
                key_id: key.id.clone(),
                update_mask: mask(&["value_hash"]),
                ..Default::default()
            })
            .await,
        "'value_hash' is not a field of ApiKey that can be updated",
    );
    assert_eq!(admin.stage(&api, "prod").await?, before, "nothing changed");
    Ok(())
}

/// A stage's `previous_deployment_ids` is the control plane's: every call
/// that moves the stage keeps it (CreateDeployment, PromoteCanary,
/// UpdateStage, whose move to the first entry pops it), DeleteDeployment
/// takes a deployment out, and what a client sends is ignored, on create
/// and on update without a mask or with `*` (naming it is refused above).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stages_history_is_kept_by_the_control_plane_alone() -> anyhow::Result<()> {
    let (_dir, _cp, mut admin) = started().await?;
    let api = admin.create_api("shop", ApiProtocol::Rest).await?;
    admin.route(&api, "/health", "GET", mock(200, "v1")).await?;
    let d1 = admin.deploy(&api, "prod").await?.id;
    assert!(
        admin
            .stage(&api, "prod")
            .await?
            .previous_deployment_ids
            .is_empty()
    );
    let d2 = admin.deploy(&api, "prod").await?.id;
    let history = |s: &Stage| s.previous_deployment_ids.clone();
    assert_eq!(history(&admin.stage(&api, "prod").await?), [d1.as_str()]);

    let forged = vec!["forged".to_string()];
    let qa = admin
        .deployments
        .create_stage(CreateStageRequest {
            stage: Some(Stage {
                api_id: api.id.clone(),
                stage_name: "qa".into(),
                deployment_id: d2.clone(),
                previous_deployment_ids: forged.clone(),
                ..Default::default()
            }),
        })
        .await?
        .into_inner();
    assert!(qa.previous_deployment_ids.is_empty(), "{qa:?}");
    let unmasked = admin
        .deployments
        .update_stage(UpdateStageRequest {
            stage: Some(Stage {
                api_id: api.id.clone(),
                stage_name: "prod".into(),
                description: "live".into(),
                previous_deployment_ids: forged.clone(),
                ..Default::default()
            }),
            update_mask: None,
        })
        .await?
        .into_inner();
    assert_eq!(history(&unmasked), [d1.as_str()]);
    let mut every = admin.stage(&api, "prod").await?;
    every.previous_deployment_ids = forged;
    assert_eq!(history(&admin.update_stage(every).await?), [d1.as_str()]);

    // Promoting the canary moves the stage: what it served goes in front.
    let d3 = admin
        .deployments
        .create_deployment(CreateDeploymentRequest {
            api_id: api.id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .id;
    admin
        .deployments
        .update_stage(UpdateStageRequest {
            stage: Some(Stage {
                api_id: api.id.clone(),
                stage_name: "prod".into(),
                canary: Some(CanarySettings {
                    deployment_id: d3.clone(),
                    percent_traffic: 10.0,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            update_mask: mask(&["canary"]),
        })
        .await?;
    let promoted = admin
        .deployments
        .promote_canary(PromoteCanaryRequest {
            api_id: api.id.clone(),
            stage_name: "prod".into(),
            force: false,
        })
        .await?
        .into_inner();
    assert_eq!(promoted.deployment_id, d3);
    assert_eq!(history(&promoted), [d2.as_str(), d1.as_str()]);

    // Pointing the stage at the first entry is a roll back: it pops.
    let back = admin
        .deployments
        .update_stage(UpdateStageRequest {
            stage: Some(Stage {
                api_id: api.id.clone(),
                stage_name: "prod".into(),
                deployment_id: d2.clone(),
                ..Default::default()
            }),
            update_mask: mask(&["deployment_id"]),
        })
        .await?
        .into_inner();
    assert_eq!(back.deployment_id, d2);
    assert_eq!(history(&back), [d1.as_str()]);

    // A deleted deployment leaves every history.
    admin
        .deployments
        .delete_deployment(GetDeploymentRequest {
            api_id: api.id.clone(),
            deployment_id: d1.clone(),
        })
        .await?;
    assert!(history(&admin.stage(&api, "prod").await?).is_empty());
    Ok(())
}

/// Creates `count` APIs named `{prefix}-{i}`, 16 calls at a time.
async fn create_apis(admin: &Admin, prefix: &str, count: usize) -> anyhow::Result<()> {
    const IN_FLIGHT: usize = 16;
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..IN_FLIGHT {
        let mut apis = admin.apis.clone();
        let prefix = prefix.to_owned();
        workers.spawn(async move {
            for i in (w..count).step_by(IN_FLIGHT) {
                apis.create_rest_api(CreateRestApiRequest {
                    name: format!("{prefix}-{i}"),
                    ..Default::default()
                })
                .await?;
            }
            Ok::<_, tonic::Status>(())
        });
    }
    while let Some(done) = workers.join_next().await {
        done??;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_apis_page_through_the_api_and_the_cli() -> anyhow::Result<()> {
    const COUNT: usize = 1000;
    let (_dir, cp, mut admin) = started().await?;
    let started = std::time::Instant::now();
    create_apis(&admin, "api", COUNT).await?;
    println!("created {COUNT} APIs in {:.2?}", started.elapsed());

    // Every API exactly once, each page at most the size asked, in id order.
    let page = |size: i32, token: String| ListRestApisRequest {
        page_size: size,
        page_token: token,
    };
    let timed = std::time::Instant::now();
    admin.apis.list_rest_apis(page(1000, String::new())).await?;
    println!("one page of 1000 APIs: {:.2?}", timed.elapsed());
    for (size, expected_pages) in [
        (300, vec![300, 300, 300, 100]),
        (0, vec![100; 10]),
        (5000, vec![1000]),
    ] {
        let (mut ids, mut sizes, mut token) = (Vec::new(), Vec::new(), String::new());
        for _ in 0..=COUNT {
            let answer = admin
                .apis
                .list_rest_apis(page(size, token))
                .await?
                .into_inner();
            sizes.push(answer.items.len());
            ids.extend(answer.items.into_iter().map(|a| a.id));
            token = answer.next_page_token;
            if token.is_empty() {
                break;
            }
        }
        assert_eq!(sizes, expected_pages, "page size {size}");
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), COUNT, "page size {size}: every API once");
        assert_eq!(ids, unique, "in id order");
    }
    assert_eq!(admin.list_apis().await?.len(), COUNT);

    // Bad tokens and sizes are refused: garbage, an altered token, another
    // list's token, another API's token, a negative size.
    let first = admin
        .apis
        .list_rest_apis(page(10, String::new()))
        .await?
        .into_inner();
    let token = first.next_page_token;
    assert_invalid_says(
        admin.apis.list_rest_apis(page(10, "garbage!".into())).await,
        "page_token:",
    );
    assert_invalid_says(
        admin
            .apis
            .list_rest_apis(page(10, format!("A{token}")))
            .await,
        "page_token:",
    );
    let keys = ListApiKeysRequest {
        page_size: 10,
        page_token: token.clone(),
    };
    assert_invalid_says(
        admin.plans.list_api_keys(keys).await,
        "page_token: belongs to another list",
    );
    let (one, other) = (&first.items[0], &first.items[1]);
    admin.route(one, "/a", "GET", mock(200, "a")).await?;
    admin.route(one, "/b", "GET", mock(200, "b")).await?;
    let resources = admin
        .apis
        .list_resources(ListResourcesRequest {
            api_id: one.id.clone(),
            page_size: 1,
            page_token: String::new(),
        })
        .await?
        .into_inner();
    assert_eq!(resources.items.len(), 1);
    assert_invalid_says(
        admin
            .apis
            .list_resources(ListResourcesRequest {
                api_id: other.id.clone(),
                page_size: 1,
                page_token: resources.next_page_token,
            })
            .await,
        "page_token: belongs to another list",
    );
    assert_invalid_says(
        admin.apis.list_rest_apis(page(-1, String::new())).await,
        "page_size: -1 is negative",
    );

    // The CLI follows the pages.
    let timed = std::time::Instant::now();
    let listed = ctl_json(&cp.url(), &["get", "apis", "-o", "json"]);
    println!(
        "archwayctl get apis -o json over {COUNT} APIs: {:.2?}",
        timed.elapsed()
    );
    let listed = listed.as_array().expect("a list");
    assert_eq!(listed.len(), COUNT);
    assert!(
        listed.iter().all(|a| is_rfc3339(&a["created_at"])),
        "{:?}",
        listed[0]
    );
    assert!(listed.iter().all(|a| a.get("created_at_ms").is_none()));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_prints_whole_configurations_as_table_yaml_and_json() -> anyhow::Result<()> {
    let (_dir, cp, mut admin) = started().await?;
    let server = cp.url();
    let api = admin.create_api("pets", ApiProtocol::Rest).await?;
    let tokens = authorizer(
        &api,
        "tokens",
        AuthorizerType::Token,
        "http://127.0.0.1:9/auth",
    );
    let tokens = admin
        .create_authorizer(Authorizer {
            identity_source: "X-Token".into(),
            ..tokens
        })
        .await?;
    admin
        .put_custom_route(
            &api,
            "/pets",
            Method {
                http_method: "GET".into(),
                integration: Some(mock(200, "pets")),
                api_key_required: true,
                ..Default::default()
            },
            &tokens,
        )
        .await?;
    admin.deploy(&api, "prod").await?;
    let mut stage = admin.stage(&api, "prod").await?;
    stage
        .variables
        .insert("host".into(), "backend.internal".into());
    admin.update_stage(stage).await?;
    admin
        .plans
        .create_api_key(CreateApiKeyRequest {
            name: "partner".into(),
            ..Default::default()
        })
        .await?;

    // JSON: the whole method configuration, the authorizers, the stages
    // with their variables; times in RFC 3339.
    let whole = ctl_json(&server, &["get", "api", "pets", "-o", "json"]);
    assert_eq!(whole["api"]["id"], "pets");
    assert_eq!(whole["api"]["api_key_source"], "API_KEY_SOURCE_HEADER");
    assert!(is_rfc3339(&whole["api"]["created_at"]), "{}", whole["api"]);
    let pets = whole["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == "/pets")
        .expect("the /pets resource");
    let get = &pets["methods"][0];
    assert_eq!(get["http_method"], "GET");
    assert_eq!(get["authorization_type"], "CUSTOM");
    assert_eq!(get["authorizer_id"], tokens.id.as_str());
    assert_eq!(get["api_key_required"], true);
    assert_eq!(get["integration"]["type"], "INTEGRATION_TYPE_MOCK");
    assert_eq!(whole["authorizers"][0]["name"], "tokens");
    assert_eq!(whole["stages"][0]["variables"]["host"], "backend.internal");
    assert!(is_rfc3339(&whole["stages"][0]["updated_at"]));

    // YAML parses to the same document.
    let yaml = ctl(&server, &["get", "api", "pets", "-o", "yaml"]);
    let parsed: serde_json::Value = serde_saphyr::from_str(&yaml)?;
    assert_eq!(parsed, whole);

    // The table shows the same, readable, without epoch milliseconds.
    let table = ctl(&server, &["get", "api", "pets"]);
    for expected in [
        "CUSTOM",
        "tokens (",
        "required",
        "MOCK 200",
        "host=backend.internal",
        "KEY SOURCE  HEADER",
    ] {
        assert!(table.contains(expected), "no '{expected}' in:\n{table}");
    }
    let created = whole["api"]["created_at"].as_str().unwrap();
    assert!(
        table.contains(&format!("{} {}Z", &created[..10], &created[11..19])),
        "{table}"
    );

    // Every resource prints in every format, and no secret or hash does.
    let gets: &[&[&str]] = &[
        &["apis"],
        &["resources", "pets"],
        &["routes", "pets"],
        &["methods", "pets"],
        &["authorizers", "pets"],
        &["stages", "pets"],
        &["deployments", "pets"],
        &["keys"],
        &["plans"],
        &["principals"],
        &["tokens"],
        &["nodes"],
    ];
    for args in gets {
        for format in ["table", "yaml", "json"] {
            let mut full = vec!["get"];
            full.extend_from_slice(args);
            full.extend(["-o", format]);
            let out = ctl(&server, &full);
            for secret in [
                "value_hash",
                "session_token_hash",
                "sealed_secret",
                "created_at_ms",
            ] {
                assert!(!out.contains(secret), "{full:?} printed {secret}: {out}");
            }
            if format == "json" {
                serde_json::from_str::<serde_json::Value>(&out)?;
            } else if format == "yaml" {
                serde_saphyr::from_str::<serde_json::Value>(&out)?;
            }
        }
    }
    let keys = ctl_json(&server, &["get", "keys", "-o", "json"]);
    assert!(keys[0].get("value").is_none() && is_rfc3339(&keys[0]["created_at"]));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_accepted_for_ids_and_ambiguous_names_refused() -> anyhow::Result<()> {
    let (_dir, cp, mut admin) = started().await?;
    let server = cp.url();
    let pets = admin.create_api("pets-id", ApiProtocol::Rest).await?;
    let rename = |id: &str, name: &str| UpdateRestApiRequest {
        api_id: id.into(),
        name: name.into(),
        ..Default::default()
    };
    admin.apis.update_rest_api(rename(&pets.id, "pets")).await?;
    let shop_a = admin.create_api("shop-a", ApiProtocol::Rest).await?;
    let shop_b = admin.create_api("shop-b", ApiProtocol::Rest).await?;
    admin
        .apis
        .update_rest_api(rename(&shop_a.id, "shop"))
        .await?;
    admin
        .apis
        .update_rest_api(rename(&shop_b.id, "shop"))
        .await?;

    // By name and by id, the same API.
    let by_name = ctl_json(&server, &["get", "api", "pets", "-o", "json"]);
    let by_id = ctl_json(&server, &["get", "api", "pets-id", "-o", "json"]);
    assert_eq!(by_name, by_id);
    assert_eq!(by_name["api"]["id"], "pets-id");
    // A shared name is refused with the ids to choose from.
    ctl_refused(
        &server,
        &["get", "api", "shop"],
        &["2 APIs are named 'shop' (shop-a, shop-b); pass the id"],
    );
    ctl_refused(
        &server,
        &["get", "stages", "nothing-like-it"],
        &["no API has the id or name 'nothing-like-it'"],
    );
    // The id still works where the name is ambiguous.
    ctl_json(&server, &["get", "api", "shop-a", "-o", "json"]);

    // Keys and plans by name; a disable by name changes nothing else.
    admin.route(&pets, "/x", "GET", mock(200, "x")).await?;
    admin.deploy(&pets, "prod").await?;
    ctl(
        &server,
        &["keys", "create", "partner", "--description", "kept"],
    );
    ctl(
        &server,
        &[
            "plans",
            "create",
            "--name",
            "gold",
            "--stage",
            "pets:prod",
            "--rate",
            "5",
            "--burst",
            "10",
        ],
    );
    ctl(&server, &["plans", "add-key", "gold", "partner"]);
    ctl(&server, &["keys", "disable", "partner"]);
    let keys = ctl_json(&server, &["get", "keys", "-o", "json"]);
    assert_eq!(keys[0]["name"], "partner");
    assert_eq!(keys[0]["enabled"], false);
    assert_eq!(keys[0]["description"], "kept");
    ctl(
        &server,
        &["plans", "update", "gold", "--description", "partners"],
    );
    let plans = ctl_json(&server, &["get", "plans", "-o", "json"]);
    assert_eq!(plans[0]["description"], "partners");
    assert_eq!(
        plans[0]["throttle"]["burst_limit"], 10,
        "the throttle is kept"
    );
    assert_eq!(plans[0]["api_stages"][0]["api_id"], "pets-id");
    // A second key of the same name makes the name ambiguous.
    ctl(&server, &["keys", "create", "partner"]);
    ctl_refused(
        &server,
        &["keys", "enable", "partner"],
        &["2 API keys are named 'partner'"],
    );
    Ok(())
}
