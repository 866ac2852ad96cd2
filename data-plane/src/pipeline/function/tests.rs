//! The events read back with the `aws_lambda_events` crate's types and
//! compared with its fixtures; the answers of every shape AWS documents.

use super::*;
use crate::aws::integration::PayloadFormat;
use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayV2httpRequest};
use serde_json::Value;
use std::time::Duration;

fn headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in [
        ("host", "shop.execute-api.test"),
        ("user-agent", "curl/8"),
        ("content-type", "application/json"),
        ("x-multi", "a"),
        ("x-multi", "b"),
        ("cookie", "a=1; b=2"),
        ("x-api-key", "key-value"),
    ] {
        h.append(http::HeaderName::from_static(k), v.parse().unwrap());
    }
    h
}

struct Owned {
    headers: HeaderMap,
    vars: HashMap<Box<str>, Box<str>>,
}

fn owned() -> Owned {
    Owned {
        headers: headers(),
        vars: [("env".into(), "test".into())].into(),
    }
}

fn input<'a>(o: &'a Owned, body: &'a [u8], authorizer: Authorizer<'a>) -> EventInput<'a> {
    EventInput {
        resource_path: "/pets/{id}",
        resource_id: "r1",
        stage: "prod",
        path: "/pets/a%20b",
        method: "POST",
        headers: &o.headers,
        query: Some("q=1&q=2&x=%C3%A9"),
        params: &[("id", "a%20b")],
        stage_variables: &o.vars,
        account_id: "123456789012",
        api_id: "shop",
        domain_name: "shop.execute-api.test",
        request_id: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        time: SystemTime::UNIX_EPOCH + Duration::from_millis(1_589_522_469_693),
        source_ip: "192.0.2.1",
        protocol: "HTTP/1.1",
        route_key: "POST /pets/{id}",
        authorizer,
        api_key_id: Some("k1"),
        body,
        binary: false,
    }
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

/// Every key of `fixture` is in `ours`, recursively through objects that
/// both have, but for those listed (which the gateway cannot know).
fn assert_keys_cover(fixture: &Value, ours: &Value, path: &str, unknowable: &[&str]) {
    let (Value::Object(f), Value::Object(o)) = (fixture, ours) else {
        return;
    };
    for (key, value) in f {
        let here = format!("{path}.{key}");
        if unknowable.contains(&here.as_str()) {
            continue;
        }
        let ours = o
            .get(key)
            .unwrap_or_else(|| panic!("{here} is missing; ours: {o:?}"));
        // Maps of the request's own names (headers, query...) differ.
        if ![
            "headers",
            "multiValueHeaders",
            "queryStringParameters",
            "multiValueQueryStringParameters",
            "pathParameters",
            "stageVariables",
            "authorizer",
            "claims",
        ]
        .contains(&key.as_str())
        {
            assert_keys_cover(value, ours, &here, unknowable);
        }
    }
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/{name}", aws_lambda_events_fixtures());
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
}

/// The crate's fixtures, from its source in the cargo registry (where
/// cargo unpacked it to build it as a dev-dependency).
fn aws_lambda_events_fixtures() -> String {
    let home = std::env::var("CARGO_HOME")
        .unwrap_or_else(|_| format!("{}/.cargo", std::env::var("HOME").unwrap_or_default()));
    if let Ok(dirs) = std::fs::read_dir(format!("{home}/registry/src")) {
        for dir in dirs.flatten() {
            let candidate = dir.path().join("aws_lambda_events-1.2.1/src/fixtures");
            if candidate.is_dir() {
                return candidate.display().to_string();
            }
        }
    }
    panic!("aws_lambda_events 1.2.1's source is not under {home}/registry/src")
}

#[test]
fn v1_event_reads_back_as_aws_lambda_events_type() {
    let o = owned();
    let context = r#"{"tenant":"t1","level":3}"#;
    let auth = Authorizer::Lambda {
        principal_id: Some("user-1"),
        context: Some(context),
    };
    let bytes = event_v1::build(&input(&o, b"{\"a\":1}", auth)).unwrap();
    let event: ApiGatewayProxyRequest = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(event.resource.as_deref(), Some("/pets/{id}"));
    assert_eq!(event.path.as_deref(), Some("/pets/a%20b"));
    assert_eq!(event.http_method, http::Method::POST);
    assert_eq!(event.headers["x-multi"], "b", "headers hold the last value");
    assert_eq!(
        event.multi_value_headers.get_all("x-multi").iter().count(),
        2
    );
    assert_eq!(event.query_string_parameters.first("q"), Some("2"));
    assert_eq!(event.query_string_parameters.first("x"), Some("é"));
    assert_eq!(
        event.multi_value_query_string_parameters.all("q"),
        Some(vec!["1", "2"])
    );
    assert_eq!(event.path_parameters["id"], "a b");
    assert_eq!(event.stage_variables["env"], "test");
    assert_eq!(event.body.as_deref(), Some("{\"a\":1}"));
    assert!(!event.is_base64_encoded);
    let rc = &event.request_context;
    assert_eq!(rc.path.as_deref(), Some("/prod/pets/a%20b"));
    assert_eq!(rc.stage.as_deref(), Some("prod"));
    assert_eq!(
        rc.request_time.as_deref(),
        Some("15/May/2020:06:01:09 +0000")
    );
    assert_eq!(rc.request_time_epoch, 1_589_522_469_693);
    assert_eq!(rc.identity.source_ip.as_deref(), Some("192.0.2.1"));
    assert_eq!(rc.identity.api_key.as_deref(), Some("key-value"));
    assert_eq!(rc.authorizer.fields["principalId"], "user-1");
    assert_eq!(rc.authorizer.fields["tenant"], "t1");
    assert_eq!(rc.authorizer.fields["level"], 3);
}

#[test]
fn v1_event_has_every_field_of_the_fixture() {
    let o = owned();
    let ours = json(&event_v1::build(&input(&o, b"x", Authorizer::None)).unwrap());
    for name in [
        "example-apigw-request.json",
        "example-apigw-sam-rest-request.json",
    ] {
        let fixture = fixture(name);
        assert_keys_cover(
            &fixture,
            &ours,
            "",
            &[
                "..requestContext.authorizer",
                ".requestContext.authorizer",
                ".requestContext.identity.clientCert",
                ".requestContext.operationName",
            ],
        );
    }
    // Absent maps are null, as AWS sends them.
    let empty = EventInput {
        query: None,
        params: &[],
        ..input(&o, b"", Authorizer::None)
    };
    let ours = json(&event_v1::build(&empty).unwrap());
    for key in [
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "body",
    ] {
        assert_eq!(ours[key], Value::Null, "{key}");
    }
}

#[test]
fn v2_event_reads_back_as_aws_lambda_events_type() {
    let o = owned();
    let claims = r#"{"sub":"alice","scope":"read"}"#;
    let scopes = ["read".to_owned()];
    let auth = Authorizer::Jwt {
        claims: Some(claims),
        scopes: &scopes,
    };
    let bytes = event_v2::build(&input(&o, b"hello", auth)).unwrap();
    let event: ApiGatewayV2httpRequest = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(event.version.as_deref(), Some("2.0"));
    assert_eq!(event.route_key.as_deref(), Some("POST /pets/{id}"));
    assert_eq!(event.raw_path.as_deref(), Some("/prod/pets/a%20b"));
    assert_eq!(event.raw_query_string.as_deref(), Some("q=1&q=2&x=%C3%A9"));
    assert_eq!(
        event.cookies,
        Some(vec!["a=1".to_owned(), "b=2".to_owned()])
    );
    assert_eq!(
        event.headers["x-multi"], "a,b",
        "2.0 joins repeated headers"
    );
    assert!(
        event.headers.get("cookie").is_none(),
        "cookies travel apart"
    );
    let raw = json(&bytes);
    assert_eq!(
        raw["queryStringParameters"]["q"], "1,2",
        "2.0 joins repeated parameters"
    );
    assert_eq!(event.path_parameters["id"], "a b");
    assert_eq!(event.body.as_deref(), Some("hello"));
    let rc = &event.request_context;
    assert_eq!(rc.http.method, http::Method::POST);
    assert_eq!(rc.http.source_ip.as_deref(), Some("192.0.2.1"));
    assert_eq!(rc.time_epoch, 1_589_522_469_693);
    let jwt = rc.authorizer.as_ref().unwrap().jwt.as_ref().unwrap();
    assert_eq!(jwt.claims["sub"], "alice");
    assert_eq!(jwt.scopes, Some(vec!["read".to_owned()]));
}

#[test]
fn v2_event_has_every_field_of_the_fixtures() {
    let o = owned();
    let context = r#"{"tenant":"t1"}"#;
    let ours = json(
        &event_v2::build(&input(
            &o,
            b"x",
            Authorizer::Lambda {
                principal_id: None,
                context: Some(context),
            },
        ))
        .unwrap(),
    );
    assert_eq!(
        ours["requestContext"]["authorizer"]["lambda"]["tenant"],
        "t1"
    );
    for name in [
        "example-apigw-v2-request-no-authorizer.json",
        "example-apigw-v2-request-jwt-authorizer.json",
    ] {
        assert_keys_cover(
            &fixture(name),
            &ours,
            "",
            &[
                ".requestContext.authentication",
                ".requestContext.authorizer",
            ],
        );
    }
    let iam = Authorizer::Iam {
        access_key: "AKID",
        user_arn: "arn:aws:iam::123456789012:user/alice",
        user: Some("alice"),
        account_id: "123456789012",
    };
    let ours: ApiGatewayV2httpRequest =
        serde_json::from_slice(&event_v2::build(&input(&o, b"", iam)).unwrap()).unwrap();
    let iam = ours.request_context.authorizer.unwrap().iam.unwrap();
    assert_eq!(
        iam.user_arn.as_deref(),
        Some("arn:aws:iam::123456789012:user/alice")
    );
    assert_eq!(iam.access_key.as_deref(), Some("AKID"));
}

#[test]
fn binary_bodies_travel_base64() {
    let o = owned();
    let body = [0xff, 0x00, 0x10];
    let event = EventInput {
        binary: true,
        ..input(&o, &body, Authorizer::None)
    };
    for bytes in [
        event_v1::build(&event).unwrap(),
        event_v2::build(&event).unwrap(),
    ] {
        let v = json(&bytes);
        assert_eq!(v["isBase64Encoded"], true);
        assert_eq!(v["body"], "/wAQ");
    }
    let types: Vec<Box<str>> = vec!["image/png".into(), "application/*".into()];
    assert!(is_binary(Some("image/png; q=1"), &types, b"text"));
    assert!(is_binary(Some("Application/Octet-Stream"), &types, b"text"));
    assert!(!is_binary(Some("text/plain"), &types, b"text"));
    assert!(is_binary(Some("text/plain"), &types, &body), "not UTF-8");
    assert!(is_binary(Some("text/plain"), &["*/*".into()], b"text"));
    assert!(!is_binary(None, &types, b""));
}

fn parse(format: PayloadFormat, body: &str) -> Result<http::Response<bytes::Bytes>, String> {
    response::parse(format, &bytes::Bytes::from(body.to_owned()))
}

#[test]
fn v1_answers_with_status_headers_and_body() {
    let r = parse(
        PayloadFormat::V1,
        r#"{"statusCode":201,"headers":{"x-a":"1","x-b":"single","x-n":5},"multiValueHeaders":{"x-b":["m1","m2"]},"body":"made","isBase64Encoded":false}"#,
    )
    .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["x-a"], "1");
    assert_eq!(r.headers()["x-n"], "5");
    let b: Vec<_> = r.headers().get_all("x-b").iter().collect();
    assert_eq!(
        b,
        ["m1", "m2"],
        "multiValueHeaders win for a name both give"
    );
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(r.body(), "made");
    let binary = parse(PayloadFormat::V1, r#"{"statusCode":200,"body":"/wAQ","isBase64Encoded":true,"headers":{"content-type":"image/png"}}"#).unwrap();
    assert_eq!(&binary.body()[..], [0xff, 0x00, 0x10]);
    assert_eq!(binary.headers()["content-type"], "image/png");
}

#[test]
fn v1_malformed_answers_are_refused() {
    for bad in [
        "not json",
        "\"a string\"",
        "{}",
        r#"{"statusCode":"abc"}"#,
        r#"{"statusCode":99}"#,
        r#"{"statusCode":700}"#,
        r#"{"statusCode":200,"headers":[]}"#,
        r#"{"statusCode":200,"headers":{"bad name":"v"}}"#,
        r#"{"statusCode":200,"headers":{"x":"a\nb"}}"#,
        r#"{"statusCode":200,"multiValueHeaders":{"x":"v"}}"#,
        r#"{"statusCode":200,"body":{"a":1}}"#,
        r#"{"statusCode":200,"body":"%%%","isBase64Encoded":true}"#,
    ] {
        assert!(parse(PayloadFormat::V1, bad).is_err(), "{bad}");
    }
}

#[test]
fn v2_infers_200_for_bare_json_and_takes_cookies() {
    for bare in [r#"{"message":"hi"}"#, "\"hi\"", "[1,2]", "42"] {
        let r = parse(PayloadFormat::V2, bare).unwrap();
        assert_eq!(r.status(), 200, "{bare}");
        assert_eq!(r.headers()["content-type"], "application/json");
        assert_eq!(r.body(), bare);
    }
    let r = parse(
        PayloadFormat::V2,
        r#"{"statusCode":302,"cookies":["a=1; Path=/","b=2"],"headers":{"location":"/x"}}"#,
    )
    .unwrap();
    assert_eq!(r.status(), 302);
    let cookies: Vec<_> = r.headers().get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1; Path=/", "b=2"]);
    assert!(parse(PayloadFormat::V2, "not json").is_err());
    assert!(parse(PayloadFormat::V2, r#"{"statusCode":200,"cookies":"a=1"}"#).is_err());
}

#[test]
fn framing_headers_of_the_function_are_not_passed_on() {
    let r = parse(PayloadFormat::V1, r#"{"statusCode":200,"headers":{"content-length":"999","transfer-encoding":"chunked","connection":"close"},"body":"ok"}"#).unwrap();
    for h in ["content-length", "transfer-encoding", "connection"] {
        assert!(r.headers().get(h).is_none(), "{h}");
    }
}

/// A function's answer may set no header a mapping template may not set:
/// one list ([`crate::hop_by_hop::is_reserved`]) for both.
#[test]
fn a_function_sets_no_header_a_mapping_may_not() {
    let r = parse(
        PayloadFormat::V1,
        r#"{"statusCode":200,"headers":{"host":"evil.test","proxy-status":"x","x-kept":"1"},"body":"ok"}"#,
    )
    .unwrap();
    for h in ["host", "proxy-status"] {
        assert!(r.headers().get(h).is_none(), "{h}");
    }
    assert_eq!(r.headers()["x-kept"], "1");
}

/// 30k distinct query names (what a 64 KiB head can carry) cost linear
/// time to put in an event; a scan per name took seconds.
#[test]
fn an_event_with_many_query_names_is_built_in_linear_time() {
    let raw: String = (0..30_000)
        .map(|i| format!("k{i}=v"))
        .chain(["k7=w".to_owned()])
        .collect::<Vec<_>>()
        .join("&");
    let started = std::time::Instant::now();
    let query = parse_query(Some(&raw));
    let last = serde_json::to_value(LastQuery(&query)).unwrap();
    let multi = serde_json::to_value(MultiQuery(&query)).unwrap();
    let joined = serde_json::to_value(JoinedQuery(&query)).unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1500), "{took:?}");
    assert_eq!(last.as_object().unwrap().len(), 30_000);
    assert_eq!(last["k7"], "w");
    assert_eq!(multi["k7"], serde_json::json!(["v", "w"]));
    assert_eq!(joined["k7"], "v,w");
    assert_eq!(joined["k29999"], "v");
}

#[test]
fn headers_and_multi_value_headers_merge_case_insensitively() {
    let r = parse(
        PayloadFormat::V1,
        r#"{"statusCode":200,"headers":{"Content-Type":"text/plain","X-One":"1"},"multiValueHeaders":{"content-type":["text/html"]},"body":"x"}"#,
    )
    .unwrap();
    let types: Vec<_> = r.headers().get_all("content-type").iter().collect();
    assert_eq!(
        types,
        ["text/html"],
        "one Content-Type, multiValueHeaders' one"
    );
    assert_eq!(r.headers()["x-one"], "1");
}

#[test]
fn query_values_group_by_name_in_first_seen_order() {
    let query = parse_query(Some("b=1&a=2&b=3&c&a=4&b=5"));
    let groups: Vec<(&str, Vec<&str>)> = query
        .iter()
        .map(|(n, vs)| (n, vs.iter().map(|v| &**v).collect()))
        .collect();
    assert_eq!(
        groups,
        [
            ("b", vec!["1", "3", "5"]),
            ("a", vec!["2", "4"]),
            ("c", vec![""])
        ]
    );
    assert!(parse_query(Some("")).is_empty());
    assert!(parse_query(None).is_empty());
    // Past the scanned names, the map finds repeats as the scan does.
    let raw: String = (0..40).map(|i| format!("k{i}=v{i}&")).collect::<String>() + "k3=again&k39=x";
    let query = parse_query(Some(&raw));
    let multi = serde_json::to_value(MultiQuery(&query)).unwrap();
    assert_eq!(multi.as_object().unwrap().len(), 40);
    assert_eq!(multi["k3"], serde_json::json!(["v3", "again"]));
    assert_eq!(multi["k39"], serde_json::json!(["v39", "x"]));
    assert_eq!(multi["k0"], serde_json::json!(["v0"]));
}

/// The authorizer's context sits beside `principalId` member by member,
/// embedded as written; a key with escapes, or a context that is not an
/// object, is still read right.
#[test]
fn v1_authorizer_context_members_are_embedded_as_written() {
    let o = owned();
    let authorizer = |context| {
        let auth = Authorizer::Lambda {
            principal_id: Some("user-1"),
            context: Some(context),
        };
        json(&event_v1::build(&input(&o, b"", auth)).unwrap())["requestContext"]["authorizer"]
            .clone()
    };
    let a = authorizer(r#"{"n":1.50,"nested":{"x":[1,"y"]},"principalId":"forged"}"#);
    assert_eq!(
        a["principalId"], "user-1",
        "the authorizer's, not the context's"
    );
    assert_eq!(a["nested"], serde_json::json!({"x": [1, "y"]}));
    assert_eq!(a["n"], 1.5);
    let a = authorizer(r#"{"quo\"te":"v"}"#);
    assert_eq!(a["quo\"te"], "v");
    let a = authorizer("[1,2]");
    assert_eq!(a["principalId"], "user-1");
    assert_eq!(a.as_object().unwrap().len(), 2, "{a}");
    let claims = |text| {
        let auth = Authorizer::Jwt {
            claims: Some(text),
            scopes: &[],
        };
        json(&event_v2::build(&input(&o, b"", auth)).unwrap())["requestContext"]["authorizer"]
            ["jwt"]["claims"]
            .clone()
    };
    assert_eq!(claims(r#"{"sub":"u"}"#), serde_json::json!({"sub": "u"}));
    assert_eq!(claims("not json"), serde_json::json!({}));
    assert_eq!(claims("[1]"), serde_json::json!({}));
}
