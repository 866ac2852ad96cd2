//! AWS_IAM methods: requests signed at run time by botocore (the AWS SDK for
//! Python's signer, installed from PyPI by tests/run) and by the aws-sigv4
//! crate reach the backend when the principal's policies allow them, and
//! every refusal answers as API Gateway does. Also resource policies
//! (source CIDRs, principals) and private APIs.

use archway_e2e::admin::http_proxy;
use archway_e2e::http_client::GatewayClient;
use archway_e2e::sigv4::get_headers as sigv4_headers;
use archway_e2e::{Admin, ControlPlane, DataPlane, upstream};
use archway_proto::v1::*;
use bytes::Bytes;
use http::StatusCode;
use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "000000000000";

fn policy(statements: Value) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

/// Signs and sends `requests` with botocore; returns (status, body) each.
fn botocore(node: &DataPlane, api: &str, requests: Value) -> Vec<(u16, Value)> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/botocore_send.py");
    let job = json!({
        "node": node.addr().to_string(),
        "host": format!("{api}.execute-api.localhost:{}", node.addr().port()),
        "region": REGION,
        "requests": requests,
    });
    let python = archway_e2e::tools::python();
    let mut child = Command::new(&python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "starting {} (Python with botocore): {e}; {}",
                python.display(),
                archway_e2e::tools::INSTALL_HINT
            )
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(job.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "botocore_send.py failed under {}; {}",
        python.display(),
        archway_e2e::tools::INSTALL_HINT
    );
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).expect("JSON results");
    results
        .into_iter()
        .map(|r| {
            let body = r["body"].as_str().unwrap_or_default();
            (
                r["status"].as_u64().unwrap() as u16,
                serde_json::from_str(body).unwrap_or(Value::String(body.into())),
            )
        })
        .collect()
}

fn req(method: &str, path: &str, key: &AccessKey) -> Value {
    json!({
        "method": method, "path": path,
        "access_key": key.access_key_id, "secret": key.secret_access_key,
    })
}

/// Sends raw bytes and returns the whole answer as text.
async fn raw_request(addr: std::net::SocketAddr, request: &str) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await??;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_requests_are_verified_and_authorized_by_policies() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let backend = upstream::start("backend").await;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let node = DataPlane::start(&cp.url(), "n", &dir.path().join("n"), &[])?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let api = admin.create_api("iamapi", ApiProtocol::Rest).await?;
    for verb in ["GET", "POST", "DELETE"] {
        let method = admin
            .route(
                &api,
                "/pets",
                verb,
                http_proxy(&format!("http://{}/pets", backend.addr)),
            )
            .await?;
        admin
            .apis
            .put_method(PutMethodRequest {
                method: Some(Method {
                    authorization_type: "AWS_IAM".into(),
                    ..method
                }),
            })
            .await?;
    }
    let arn = |rest: &str| format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:iamapi/{rest}");

    // Bad policies are refused, naming the field.
    let refused = admin
        .iam
        .create_principal(PutPrincipalRequest {
            principal: Some(IamPrincipal {
                name: "bad".into(),
                r#type: PrincipalType::User as i32,
                policies: vec![policy(
                    json!([{"Effect": "Allow", "Action": "execute-api:Invoke"}]),
                )],
                ..Default::default()
            }),
        })
        .await
        .expect_err("no Resource");
    assert!(
        refused
            .message()
            .starts_with("principal.policies[0].Statement[0]"),
        "{}",
        refused.message()
    );

    admin
        .create_principal(
            "alice",
            PrincipalType::User,
            vec![policy(json!([
                {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": arn("prod/*/pets")},
                {"Effect": "Deny", "Action": "execute-api:*", "Resource": arn("*/DELETE/*")},
            ]))],
        )
        .await?;
    admin
        .create_principal("bob", PrincipalType::User, vec![])
        .await?;
    admin
        .create_principal(
            "deployer",
            PrincipalType::Role,
            vec![policy(
                json!({"Effect": "Allow", "Action": "*", "Resource": "*"}),
            )],
        )
        .await?;
    let alice = admin.access_key("alice").await?;
    let bob = admin.access_key("bob").await?;
    assert!(alice.access_key_id.starts_with("AKIA") && alice.access_key_id.len() == 20);
    assert_eq!(alice.secret_access_key.len(), 40);
    // The secret is shown once: listing never returns it.
    let listed = admin.list_access_keys("alice").await?;
    assert_eq!(listed.len(), 1);
    assert!(listed[0].secret_access_key.is_empty() && listed[0].sealed_secret.is_empty());
    // Roles have no keys of their own.
    assert!(admin.access_key("deployer").await.is_err());
    let session = admin
        .iam
        .assume_role(AssumeRoleRequest {
            role: "deployer".into(),
            session_name: "ci-run".into(),
            duration_seconds: 900,
        })
        .await?
        .into_inner();
    let session_key = session.credentials.clone().unwrap();
    assert!(session_key.access_key_id.starts_with("ASIA"));

    admin.deploy(&api, "prod").await?;
    admin.wait_converged(&["n"]).await?;

    let alice_arn = format!("arn:aws:iam::{ACCOUNT}:user/alice");
    let mut with_token = req("GET", "/prod/pets", &session_key);
    with_token["token"] = json!(session.session_token);
    let mut wrong_secret = req("GET", "/prod/pets", &alice);
    wrong_secret["secret"] = json!("x".repeat(40));
    let mut unknown = req("GET", "/prod/pets", &alice);
    unknown["access_key"] = json!("AKIAAAAAAAAAAAAAAAAA");
    let mut post = req("POST", "/prod/pets?kind=cat&kind=dog&empty=", &alice);
    post["body"] = json!(r#"{"name":"rex"}"#);
    let mut tampered = post.clone();
    tampered["tamper_body"] = json!(r#"{"name":"evil"}"#);
    let mut unsigned = post.clone();
    unsigned["unsigned_payload"] = json!(true);
    let mut presigned = req("GET", "/prod/pets?x=1", &alice);
    presigned["presign"] = json!(true);
    let mut short_lived = presigned.clone();
    short_lived["expires"] = json!(1);
    // Signed, then sent 2 s later: past X-Amz-Date + 1 s.
    short_lived["delay_seconds"] = json!(2.1);

    let results = botocore(
        &node,
        &api.id,
        json!([
            req("GET", "/prod/pets", &alice),       // 0 allowed
            post,                                   // 1 signed body
            req("DELETE", "/prod/pets", &alice),    // 2 explicit deny
            req("GET", "/prod/pets", &bob),         // 3 no policy allows
            wrong_secret,                           // 4 signature mismatch
            unknown,                                // 5 unknown key
            tampered,                               // 6 body changed after signing
            unsigned,                               // 7 UNSIGNED-PAYLOAD
            presigned,                              // 8 presigned URL
            with_token,                             // 9 role session
            req("GET", "/prod/pets", &session_key), // 10 session without its token
        ]),
    );
    let status = |i: usize| results[i].0;
    let message = |i: usize| {
        results[i].1["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(status(0), 200, "{:?}", results[0]);
    assert_eq!(results[0].1["headers"]["x-archway-principal"], alice_arn);
    assert_eq!(status(1), 200, "{:?}", results[1]);
    assert_eq!(
        results[1].1["body"], r#"{"name":"rex"}"#,
        "the signed body reaches the backend"
    );
    assert_eq!(results[1].1["query"], "kind=cat&kind=dog&empty=");
    assert_eq!(status(2), 403);
    assert!(
        message(2).ends_with("with an explicit deny"),
        "{}",
        message(2)
    );
    assert!(message(2).contains(&alice_arn), "{}", message(2));
    assert_eq!(status(3), 403);
    assert_eq!(
        message(3),
        format!(
            "User: arn:aws:iam::{ACCOUNT}:user/bob is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:{REGION}:********0000:iamapi/prod/GET/pets"
        )
    );
    assert_eq!(status(4), 403);
    assert!(
        message(4).starts_with("The request signature we calculated does not match"),
        "{}",
        message(4)
    );
    assert_eq!(status(5), 403);
    assert_eq!(
        message(5),
        "The security token included in the request is invalid."
    );
    assert_eq!(status(6), 403, "{:?}", results[6]);
    assert_eq!(status(7), 200, "{:?}", results[7]);
    assert_eq!(results[7].1["body"], r#"{"name":"rex"}"#);
    assert_eq!(status(8), 200, "{:?}", results[8]);
    assert_eq!(status(9), 200, "{:?}", results[9]);
    assert_eq!(
        results[9].1["headers"]["x-archway-principal"],
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci-run")
    );
    assert_eq!(status(10), 403);

    // A presigned URL past its expiry, and a header signature outside the
    // five-minute window, are refused.
    let late = botocore(&node, &api.id, json!([short_lived]));
    assert_eq!(late[0].0, 403, "{:?}", late[0]);
    assert!(
        late[0].1["message"]
            .as_str()
            .unwrap()
            .starts_with("Signature expired"),
        "{:?}",
        late[0]
    );
    let client = GatewayClient::new(false);
    let host = format!("{}.execute-api.localhost", api.id);
    for (minutes_off, expect) in [(-6i64, 403u16), (-4, 200), (4, 200), (6, 403)] {
        let time = if minutes_off < 0 {
            SystemTime::now() - Duration::from_secs(minutes_off.unsigned_abs() * 60)
        } else {
            SystemTime::now() + Duration::from_secs(minutes_off as u64 * 60)
        };
        let headers = sigv4_headers(&alice, &host, "/prod/pets", time);
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let answer = client
            .send_with_headers(
                node.addr(),
                &api.id,
                "GET",
                "/prod/pets",
                Bytes::new(),
                &headers,
            )
            .await?;
        assert_eq!(
            answer.status.as_u16(),
            expect,
            "{minutes_off} min: {}",
            answer.body
        );
    }
    // No signature at all.
    let unsigned = client.get(node.addr(), &api.id, "/prod/pets").await?;
    assert_eq!(unsigned.status, StatusCode::FORBIDDEN);
    assert_eq!(unsigned.json()["message"], "Missing Authentication Token");

    // A resource policy can let in a principal its own policies do not
    // (bob), and deny one they allow (alice).
    admin
        .apis
        .update_rest_api(UpdateRestApiRequest {
            api_id: api.id.clone(),
            name: api.name.clone(),
            policy: Some(policy(json!([
                {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:user/bob")},
                 "Action": "execute-api:Invoke", "Resource": "execute-api:/prod/GET/pets"},
                {"Effect": "Deny", "Principal": {"AWS": alice_arn.clone()},
                 "Action": "execute-api:Invoke", "Resource": "execute-api:/*"},
            ]))),
            ..Default::default()
        })
        .await?;
    admin.wait_converged(&["n"]).await?;
    let by_resource_policy = botocore(
        &node,
        &api.id,
        json!([
            req("GET", "/prod/pets", &bob),
            req("GET", "/prod/pets", &alice)
        ]),
    );
    assert_eq!(by_resource_policy[0].0, 200, "{:?}", by_resource_policy[0]);
    assert_eq!(by_resource_policy[1].0, 403, "{:?}", by_resource_policy[1]);

    // A disabled key stops working on the fleet.
    admin
        .iam
        .update_access_key(UpdateAccessKeyRequest {
            access_key_id: alice.access_key_id.clone(),
            enabled: Some(false),
            update_mask: None,
        })
        .await?;
    admin.wait_converged(&["n"]).await?;
    let disabled = botocore(&node, &api.id, json!([req("GET", "/prod/pets", &alice)]));
    assert_eq!(disabled[0].0, 403);
    assert_eq!(
        disabled[0].1["message"],
        "The security token included in the request is invalid."
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_policies_and_private_apis() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let backend = upstream::start("backend").await;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    // Private connections: the second listener, and 127.0.0.2/32 anywhere.
    let node = DataPlane::start_with_private(
        &cp.url(),
        "n",
        &dir.path().join("n"),
        &["--private-cidr", "127.0.0.2/32"],
    )?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let create = |id: &str, policy: String, endpoint_type: EndpointType| CreateRestApiRequest {
        id: id.into(),
        name: id.into(),
        protocol: ApiProtocol::Rest as i32,
        policy,
        endpoint_type: endpoint_type as i32,
        ..Default::default()
    };
    // A bad resource policy is refused with the field.
    let refused = admin
        .apis
        .create_rest_api(create(
            "bad",
            policy(
                json!([{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*",
                "Condition": {"IpAddress": {"aws:SourceIp": "not-an-ip"}}, "Principal": "*"}]),
            ),
            EndpointType::Regional,
        ))
        .await
        .expect_err("bad CIDR");
    assert!(
        refused
            .message()
            .starts_with("policy.Statement[0].Condition"),
        "{}",
        refused.message()
    );

    // Only 127.0.0.1 may call; /admin is denied to everyone.
    let fenced = admin
        .apis
        .create_rest_api(create(
            "fenced",
            policy(json!([
                {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke",
                 "Resource": "execute-api:/*", "Condition": {"IpAddress": {"aws:SourceIp": ["127.0.0.1/32"]}}},
                {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke",
                 "Resource": "execute-api:/*/*/admin"},
            ])),
            EndpointType::Regional,
        ))
        .await?
        .into_inner();
    let private = admin
        .apis
        .create_rest_api(create("hidden", String::new(), EndpointType::Private))
        .await?
        .into_inner();
    for api in [&fenced, &private] {
        for path in ["/open", "/admin"] {
            admin
                .route(
                    api,
                    path,
                    "GET",
                    http_proxy(&format!("http://{}{path}", backend.addr)),
                )
                .await?;
        }
        admin.deploy(api, "prod").await?;
    }
    admin.wait_converged(&["n"]).await?;

    let from = |ip: &str| GatewayClient::bound_to(ip.parse().unwrap());
    let ok = from("127.0.0.1")
        .get(node.addr(), "fenced", "/prod/open")
        .await?;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let denied = from("127.0.0.1")
        .get(node.addr(), "fenced", "/prod/admin")
        .await?;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert!(
        denied.json()["message"]
            .as_str()
            .unwrap()
            .ends_with("with an explicit deny")
    );
    let outsider = from("127.0.0.3")
        .get(node.addr(), "fenced", "/prod/open")
        .await?;
    assert_eq!(outsider.status, StatusCode::FORBIDDEN, "{}", outsider.body);
    assert_eq!(
        outsider.json()["message"],
        "User: anonymous is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:********0000:fenced/prod/GET/open"
    );

    // The deny holds however the path is spelled: empty segments, a
    // trailing slash and encoded letters route to /admin and are denied;
    // dot segments and encoded slashes are refused outright.
    for path in [
        "/prod//admin",
        "/prod/admin/",
        "/prod/%61dmin",
        "//prod/admin",
    ] {
        let answer = from("127.0.0.1").get(node.addr(), "fenced", path).await?;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            answer.body
        );
    }
    for path in [
        "/prod/open/../admin",
        "/prod/%2e%2e/prod/admin",
        "/prod/open%2F..%2Fadmin",
    ] {
        let answer = from("127.0.0.1").get(node.addr(), "fenced", path).await?;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            answer.body
        );
    }
    // One host per request: an absolute URI naming another API than the
    // Host header is refused.
    let raw = raw_request(
        node.addr(),
        "GET http://hidden.execute-api.localhost/prod/open HTTP/1.1\r\nHost: fenced.execute-api.localhost\r\nConnection: close\r\n\r\n",
    )
    .await?;
    assert!(raw.starts_with("HTTP/1.1 400"), "{raw}");
    // Renaming the API (without naming the policy) keeps its policy.
    admin
        .apis
        .update_rest_api(UpdateRestApiRequest {
            api_id: "fenced".into(),
            name: "fenced, renamed".into(),
            ..Default::default()
        })
        .await?;
    admin.wait_converged(&["n"]).await?;
    let still = from("127.0.0.3")
        .get(node.addr(), "fenced", "/prod/open")
        .await?;
    assert_eq!(still.status, StatusCode::FORBIDDEN, "{}", still.body);

    // The private API: 403 on the public listener, served on the private
    // one and to the private CIDR.
    let public = from("127.0.0.1")
        .get(node.addr(), "hidden", "/prod/open")
        .await?;
    assert_eq!(public.status, StatusCode::FORBIDDEN);
    assert_eq!(public.json()["message"], "Forbidden");
    let on_private = from("127.0.0.1")
        .get(node.private_addr(), "hidden", "/prod/open")
        .await?;
    assert_eq!(on_private.status, StatusCode::OK, "{}", on_private.body);
    let from_cidr = from("127.0.0.2")
        .get(node.addr(), "hidden", "/prod/open")
        .await?;
    assert_eq!(from_cidr.status, StatusCode::OK, "{}", from_cidr.body);

    // Lifting the policy takes effect at once.
    admin
        .apis
        .update_rest_api(UpdateRestApiRequest {
            api_id: "fenced".into(),
            name: "fenced".into(),
            policy: Some(String::new()),
            ..Default::default()
        })
        .await?;
    admin.wait_converged(&["n"]).await?;
    let lifted = from("127.0.0.3")
        .get(node.addr(), "fenced", "/prod/open")
        .await?;
    assert_eq!(lifted.status, StatusCode::OK);
    Ok(())
}

/// botocore, given a URL that already holds its query, signs the query as
/// sent: `?a=b+c` is signed as `a=b+c`, a `%2b` stays lowercase. Those
/// requests verify, as do the space and encoded-plus spellings, and the
/// backend gets the query byte for byte; a wrong secret is still refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn botocore_signed_queries_with_plus_and_escapes_verify() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let backend = upstream::start("backend").await;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let node = DataPlane::start(&cp.url(), "n", &dir.path().join("n"), &[])?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let api = admin.create_api("plusapi", ApiProtocol::Rest).await?;
    let method = admin
        .route(
            &api,
            "/search",
            "GET",
            http_proxy(&format!("http://{}/search", backend.addr)),
        )
        .await?;
    admin
        .apis
        .put_method(PutMethodRequest {
            method: Some(Method {
                authorization_type: "AWS_IAM".into(),
                ..method
            }),
        })
        .await?;
    admin.create_principal("carol",
        PrincipalType::User,
        vec![policy(json!([{
            "Effect": "Allow", "Action": "execute-api:Invoke",
            "Resource": format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:plusapi/prod/GET/search"),
        }]))],
    )
    .await?;
    let carol = admin.access_key("carol").await?;
    admin.deploy(&api, "prod").await?;
    admin.wait_converged(&["n"]).await?;

    let queries = [
        "a=b+c",
        "q=1+1%3D2&a=x",
        "a=b%20c",
        "a=b%2Bc",
        "a=b%2bc&z=%7e",
        "tag=c%2B%2B+rust&tag=go",
    ];
    let mut requests: Vec<Value> = queries
        .iter()
        .map(|q| req("GET", &format!("/prod/search?{q}"), &carol))
        .collect();
    let mut presigned = req("GET", "/prod/search?a=b+c", &carol);
    presigned["presign"] = json!(true);
    requests.push(presigned);
    let mut wrong_secret = req("GET", "/prod/search?a=b+c", &carol);
    wrong_secret["secret"] = json!("x".repeat(40));
    requests.push(wrong_secret);

    let results = botocore(&node, &api.id, Value::Array(requests));
    for (i, q) in queries.iter().enumerate() {
        assert_eq!(results[i].0, 200, "{q}: {:?}", results[i]);
        assert_eq!(
            results[i].1["query"], *q,
            "{q}: the backend gets it as sent"
        );
    }
    let presigned = &results[queries.len()];
    assert_eq!(presigned.0, 200, "presigned: {presigned:?}");
    let refused = &results[queries.len() + 1];
    assert_eq!(refused.0, 403, "{refused:?}");
    assert!(
        refused.1["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("The request signature we calculated does not match"),
        "{refused:?}"
    );
    Ok(())
}
