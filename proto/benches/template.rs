//! What a typical mapping template costs per request, parsed once: a
//! request template (JSON body through `$input.path`/`$input.json`, a
//! `#foreach` over ten items, `$context`, `$util.escapeJavaScript`) and a
//! response template. The goal is under 5 µs each.
//!
//! This measures the template engine only. `$context` is read from a
//! `serde_json::Value` stand-in (a JSON walk and a conversion per read),
//! not from the node's `TemplateVars` (data-plane
//! `pipeline/template_vars.rs`); neither what the node's variables cost to
//! read nor what building them per request costs is in the figure.
//!
//! Run: `cargo bench -p archway-proto --bench template`. It allocates with
//! mimalloc, as the data plane does.

use archway_proto::template::{Limits, ParamList, Template, Variables};
use criterion::{Criterion, criterion_group, criterion_main};
use std::collections::BTreeMap;
use std::hint::black_box;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const REQUEST_TEMPLATE: &str = r#"#set($order = $input.path('$'))
{
  "orderId": "$util.escapeJavaScript($order.id)",
  "customer": $input.json('$.customer'),
  "requestId": "$context.requestId",
  "sourceIp": "$context.identity.sourceIp",
  "user": "$context.authorizer.claims.sub",
  "stage": "$stageVariables.env",
  "trace": "$input.params('x-trace')",
  "lines": [
#foreach($item in $order.items)
    {"sku": "$util.escapeJavaScript($item.sku)", "qty": $item.qty, "note": "$util.escapeJavaScript($item.note)"}#if($foreach.hasNext),#end
#end
  ]
}"#;

const RESPONSE_TEMPLATE: &str = r#"#set($r = $input.path('$'))
#if($r.status == "failed")
#set($context.responseOverride.status = 400)
{"error": "$util.escapeJavaScript($r.message)"}
#else
{"id": "$r.id", "total": $r.total, "items": $input.json('$.items'), "count": $r.items.size()}
#end"#;

fn request_body() -> String {
    let items: Vec<String> = (0..10)
        .map(|i| {
            format!(
                r#"{{"sku": "SKU-{i:04}", "qty": {}, "note": "gift \"wrap\" #{i}"}}"#,
                i + 1
            )
        })
        .collect();
    format!(
        r#"{{"id": "ord-123", "customer": {{"name": "Ana", "email": "ana@example.com"}}, "items": [{}]}}"#,
        items.join(", ")
    )
}

const RESPONSE_BODY: &str = r#"{"status": "ok", "id": "ord-123", "total": 129.5, "items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]}"#;

fn bench(c: &mut Criterion) {
    let params = ParamList {
        path: vec![("orderId".into(), "ord-123".into())],
        querystring: vec![("verbose".into(), "1".into())],
        header: vec![
            ("content-type".into(), "application/json".into()),
            ("x-trace".into(), "abc".into()),
        ],
    };
    let context = serde_json::json!({
        "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        "identity": {"sourceIp": "192.0.2.1"},
        "authorizer": {"claims": {"sub": "user-1"}}
    });
    let stage: BTreeMap<String, String> = [("env".to_string(), "prod".to_string())].into();
    let limits = Limits::default();

    let request = Template::parse(REQUEST_TEMPLATE).unwrap();
    let body = request_body();
    let vars = Variables {
        body: body.as_bytes(),
        params: &params,
        context: &context,
        stage_variables: &stage,
    };
    let out = request.render(&vars, &limits).unwrap();
    serde_json::from_str::<serde_json::Value>(&out.output)
        .expect("the request template renders JSON");
    c.bench_function("template/request (10 items)", |b| {
        b.iter(|| request.render(black_box(&vars), &limits).unwrap())
    });

    let response = Template::parse(RESPONSE_TEMPLATE).unwrap();
    let vars = Variables {
        body: RESPONSE_BODY.as_bytes(),
        params: &params,
        context: &context,
        stage_variables: &stage,
    };
    let out = response.render(&vars, &limits).unwrap();
    serde_json::from_str::<serde_json::Value>(&out.output)
        .expect("the response template renders JSON");
    c.bench_function("template/response", |b| {
        b.iter(|| response.render(black_box(&vars), &limits).unwrap())
    });

    c.bench_function("template/parse request template", |b| {
        b.iter(|| Template::parse(black_box(REQUEST_TEMPLATE)).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
