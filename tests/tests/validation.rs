//! Request validation through a real control plane and node: models
//! (JSON Schema draft 4, one referring to another by AWS's model URL) and
//! request validators made through the gRPC API, deployed, and requests
//! refused with AWS's answers before they reach a real upstream — or passed
//! to it with their body intact. Each way around is a named case.

use archway_e2e::admin::http_proxy;
use archway_e2e::http_client::Answer;
use archway_e2e::{Admin, ControlPlane, DataPlane, upstream};
use archway_proto::v1::{
    ApiProtocol, Method, Model, PutModelRequest, PutRequestValidatorRequest, RequestValidator,
    RestApi,
};
use http::StatusCode;

fn model(api: &RestApi, name: &str, schema: serde_json::Value) -> PutModelRequest {
    PutModelRequest {
        model: Some(Model {
            api_id: api.id.clone(),
            name: name.into(),
            schema: schema.to_string(),
            content_type: "application/json".into(),
            ..Default::default()
        }),
    }
}

async fn validator(
    admin: &mut Admin,
    api: &RestApi,
    name: &str,
    body: bool,
    parameters: bool,
) -> anyhow::Result<RequestValidator> {
    Ok(admin
        .apis
        .create_request_validator(PutRequestValidatorRequest {
            request_validator: Some(RequestValidator {
                api_id: api.id.clone(),
                name: name.into(),
                validate_request_body: body,
                validate_request_parameters: parameters,
                ..Default::default()
            }),
        })
        .await?
        .into_inner())
}

/// `pets`: POST /pets validates its body (Pet, whose owner is the Owner
/// model) and requires `x-tenant`; PUT /pets validates any content type
/// against Pet (`$default`); GET /pets/{id} requires `q`. All proxy to
/// the upstream.
struct Fixture {
    _dir: tempfile::TempDir,
    _cp: ControlPlane,
    node: DataPlane,
    upstream: upstream::Upstream,
}

async fn fixture() -> anyhow::Result<Fixture> {
    let backend = upstream::start("backend").await;
    let (dir, cp, node, mut admin) = archway_e2e::started_with_node("v-node", &[]).await?;
    let api = admin.create_api("pets", ApiProtocol::Rest).await?;
    admin
        .apis
        .create_model(model(
            &api,
            "Owner",
            serde_json::json!({
                "type": "object",
                "required": ["id"],
                "properties": {"id": {"type": "integer"}}
            }),
        ))
        .await?;
    admin
        .apis
        .create_model(model(
            &api,
            "Pet",
            serde_json::json!({
                "$schema": "http://json-schema.org/draft-04/schema#",
                "type": "object",
                "required": ["name", "owner"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "age": {"type": "integer", "minimum": 0},
                    "owner": {"$ref": format!(
                        "https://apigateway.amazonaws.com/restapis/{}/models/Owner",
                        api.id
                    )}
                }
            }),
        ))
        .await?;
    let all = validator(&mut admin, &api, "all", true, true).await?;
    let params = validator(&mut admin, &api, "params", false, true).await?;
    let to_backend = || http_proxy(&format!("http://{}/echo", backend.addr));
    admin
        .put_route(
            &api,
            "/pets",
            Method {
                http_method: "POST".into(),
                integration: Some(to_backend()),
                request_validator_id: all.id.clone(),
                request_parameters: [("method.request.header.x-tenant".to_owned(), true)].into(),
                request_models: [("application/json".to_owned(), "Pet".to_owned())].into(),
                ..Default::default()
            },
        )
        .await?;
    admin
        .put_route(
            &api,
            "/pets",
            Method {
                http_method: "PUT".into(),
                integration: Some(to_backend()),
                request_validator_id: all.id.clone(),
                request_models: [("$default".to_owned(), "Pet".to_owned())].into(),
                ..Default::default()
            },
        )
        .await?;
    admin
        .put_route(
            &api,
            "/pets/{id}",
            Method {
                http_method: "GET".into(),
                integration: Some(to_backend()),
                request_validator_id: params.id.clone(),
                request_parameters: [
                    ("method.request.querystring.q".to_owned(), true),
                    ("method.request.path.id".to_owned(), true),
                ]
                .into(),
                ..Default::default()
            },
        )
        .await?;
    admin.deploy(&api, "prod").await?;
    admin.wait_converged(&["v-node"]).await?;
    Ok(Fixture {
        _dir: dir,
        _cp: cp,
        node,
        upstream: backend,
    })
}

const JSON: (&str, &str) = ("content-type", "application/json");
const TENANT: (&str, &str) = ("x-tenant", "t1");
const PET: &str = r#"{"name":"Rex","age":3,"owner":{"id":7}}"#;

fn assert_invalid_body(answer: &Answer, case: &str) {
    assert_eq!(
        answer.status,
        StatusCode::BAD_REQUEST,
        "{case}: {}",
        answer.body
    );
    assert_eq!(answer.json()["message"], "Invalid request body", "{case}");
    assert_eq!(answer.headers["x-amzn-errortype"], "BadRequestException");
}

/// A refusal for missing required parameters, naming exactly `listed`.
fn assert_missing(answer: &Answer, listed: &str, case: &str) {
    assert_eq!(
        answer.status,
        StatusCode::BAD_REQUEST,
        "{case}: {}",
        answer.body
    );
    assert_eq!(
        answer.json()["message"],
        format!("Missing required request parameters: {listed}"),
        "{case}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_as_aws_answers_it() -> anyhow::Result<()> {
    let f = fixture().await?;
    let node = &f.node;

    // valid_requests_reach_the_backend_with_their_body
    let ok = node
        .send("pets", "POST", "/prod/pets", &[JSON, TENANT], PET)
        .await?;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(
        ok.json()["body"],
        PET,
        "the validated body is forwarded whole"
    );
    let ok = node
        .send("pets", "GET", "/prod/pets/7?q=x", &[], "")
        .await?;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    // Every refusal below is answered by the node: the backend never sees it.
    let hits = || f.upstream.hits.load(std::sync::atomic::Ordering::Relaxed);
    let passed_before = hits();
    assert_eq!(passed_before, 2);

    // a_body_that_does_not_match_is_refused, the referred model included
    for (case, body) in [
        ("no owner", r#"{"name":"Rex"}"#),
        (
            "owner id not an integer",
            r#"{"name":"Rex","owner":{"id":"7"}}"#,
        ),
        (
            "age below the minimum",
            r#"{"name":"Rex","age":-1,"owner":{"id":7}}"#,
        ),
        ("not an object", "[]"),
    ] {
        let refused = node
            .send("pets", "POST", "/prod/pets", &[JSON, TENANT], body)
            .await?;
        assert_invalid_body(&refused, case);
    }

    // missing_required_parameters_are_listed
    let refused = node.send("pets", "GET", "/prod/pets/7", &[], "").await?;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refused.json()["message"],
        "Missing required request parameters: [q]"
    );
    let refused = node
        .send("pets", "POST", "/prod/pets", &[JSON], PET)
        .await?;
    assert_eq!(
        refused.json()["message"],
        "Missing required request parameters: [x-tenant]"
    );

    // a_parameter_present_but_empty_is_missing
    for path in ["/prod/pets/7?q=", "/prod/pets/7?q", "/prod/pets/7?q=%20"] {
        let refused = node.send("pets", "GET", path, &[], "").await?;
        assert_missing(&refused, "[q]", path);
    }
    let refused = node
        .send("pets", "POST", "/prod/pets", &[JSON, ("x-tenant", "")], PET)
        .await?;
    assert_missing(&refused, "[x-tenant]", "empty header");

    // a_duplicated_required_header_must_be_non_blank_every_time
    let refused = node
        .send(
            "pets",
            "POST",
            "/prod/pets",
            &[JSON, ("x-tenant", "t1"), ("x-tenant", " ")],
            PET,
        )
        .await?;
    assert_missing(&refused, "[x-tenant]", "a blank second header");
    let refused = node
        .send("pets", "GET", "/prod/pets/7?q=x&q=", &[], "")
        .await?;
    assert_missing(&refused, "[q]", "an empty second q");

    // an_empty_body_is_validated_as_the_empty_object
    for body in ["", "  "] {
        let refused = node
            .send("pets", "POST", "/prod/pets", &[JSON, TENANT], body)
            .await?;
        assert_invalid_body(&refused, "empty body");
    }
    // invalid_json_is_an_invalid_body
    let refused = node
        .send("pets", "POST", "/prod/pets", &[JSON, TENANT], "{\"name\":")
        .await?;
    assert_invalid_body(&refused, "truncated JSON");

    // a_content_type_spelled_otherwise_is_still_validated
    for content_type in ["APPLICATION/JSON", "application/json; charset=utf-8"] {
        let refused = node
            .send(
                "pets",
                "POST",
                "/prod/pets",
                &[("content-type", content_type), TENANT],
                "{}",
            )
            .await?;
        assert_invalid_body(&refused, content_type);
    }
    let refused = node
        .send("pets", "POST", "/prod/pets", &[TENANT], "{}")
        .await?;
    assert_invalid_body(&refused, "no content type is application/json");

    // a_wrong_content_type_meets_the_default_model
    let refused = node
        .send(
            "pets",
            "PUT",
            "/prod/pets",
            &[("content-type", "text/plain")],
            "{}",
        )
        .await?;
    assert_invalid_body(&refused, "text/plain against $default");
    assert_eq!(
        hits(),
        passed_before,
        "a refused request reached the backend"
    );
    // Without $default, a content type with no model is not validated (as
    // AWS: passthrough behaviour decides) ...
    let passed = node
        .send(
            "pets",
            "POST",
            "/prod/pets",
            &[("content-type", "text/plain"), TENANT],
            "anything",
        )
        .await?;
    assert_eq!(passed.status, StatusCode::OK);
    // ... but two content types never choose the unvalidated one.
    let refused = node
        .send(
            "pets",
            "POST",
            "/prod/pets",
            &[("content-type", "text/plain"), JSON, TENANT],
            "{}",
        )
        .await?;
    assert_invalid_body(&refused, "two content types");
    assert_eq!(
        hits(),
        passed_before + 1,
        "only the unvalidated body passed"
    );
    Ok(())
}
