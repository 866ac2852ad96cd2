//! The admin port as a browser sees it: the UI's page and assets, embedded
//! in the control plane, served without a token in the best encoding the
//! browser takes and with the security headers; everything that only looks
//! like a UI path still needs a token; and the admin API reached through
//! gRPC-web (HTTP/1.1 and HTTP/2, plain and TLS) with the same tokens and
//! roles as gRPC, refusals readable by a grpc-web client, and bad input
//! answered with the field in `google.rpc.BadRequest` details.
//!
//! The bodies are compared with the files in `admin-ui/dist`, which the
//! binary embedded when `process.rs` built it.

use archway_e2e::grpc_web::{self, GrpcWebAnswer, RawAnswer, Target};
use archway_e2e::{ControlPlane, TEST_ADMIN_TOKEN};
use archway_proto::v1::*;
use std::path::PathBuf;
use tonic::Code;
use tonic_types::StatusExt;

const LIST_APIS: &str = "/archway.v1.RestApiService/ListRestApis";
const CREATE_API: &str = "/archway.v1.RestApiService/CreateRestApi";
const CREATE_RESOURCE: &str = "/archway.v1.RestApiService/CreateResource";
const CREATE_TOKEN: &str = "/archway.v1.AdminTokenService/CreateToken";

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

fn dist() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../admin-ui/dist")
}

fn dist_file(relative: &str) -> Option<Vec<u8>> {
    std::fs::read(dist().join(relative)).ok()
}

/// The `/assets/<name>` files index.html links (vite's script and
/// stylesheet tags).
fn linked_assets(page: &str) -> Vec<String> {
    let mut names: Vec<String> = page
        .split("\"/assets/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

fn create_api_request(id: &str) -> CreateRestApiRequest {
    CreateRestApiRequest {
        id: id.into(),
        name: format!("{id} api"),
        protocol: ApiProtocol::Rest as i32,
        ..Default::default()
    }
}

async fn get(target: &Target, path: &str, headers: &[(&str, &str)]) -> RawAnswer {
    grpc_web::http1(target, "GET", path, headers, b"")
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e:#}"))
}

/// An answer a grpc-web client can read: HTTP 200 and a grpc-web type.
fn assert_grpc_web(answer: &GrpcWebAnswer) {
    assert_eq!(answer.http_status, 200, "{answer:?}");
    let content_type = answer.headers["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("application/grpc-web"),
        "{content_type}"
    );
    assert!(answer.headers.get("access-control-allow-origin").is_none());
}

fn assert_refused(answer: &GrpcWebAnswer, code: Code, says: &str) {
    assert_grpc_web(answer);
    let status = answer.status().unwrap();
    assert_eq!(status.code(), code, "{status:?}");
    assert!(
        status.message().contains(says),
        "'{}' does not say '{says}'",
        status.message()
    );
    assert!(answer.messages.is_empty(), "{answer:?}");
}

fn api_ids(answer: &GrpcWebAnswer) -> Vec<String> {
    assert_grpc_web(answer);
    let list: ListRestApisResponse = answer.message().unwrap();
    list.items.into_iter().map(|api| api.id).collect()
}

/// A new token with `role`, made through gRPC-web with the admin token.
async fn token_with_role(target: &Target, role: TokenRole) -> String {
    let request = CreateTokenRequest {
        name: format!("{role:?} for the UI test"),
        role: role as i32,
    };
    let answer = grpc_web::call_http1(target, CREATE_TOKEN, Some(TEST_ADMIN_TOKEN), &request)
        .await
        .unwrap();
    let created: CreateTokenResponse = answer.message().unwrap();
    created.secret
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_page_and_its_assets_are_served_without_a_token() -> anyhow::Result<()> {
    let (_dir, cp, _admin) = archway_e2e::started().await?;
    let target = Target::plain(cp.process.addr);
    let page = dist_file("index.html").expect("admin-ui/dist/index.html (build.rs needs it)");
    let assets = linked_assets(&String::from_utf8_lossy(&page));
    assert!(
        assets.iter().any(|a| a.ends_with(".js")),
        "index.html links no script: {assets:?}"
    );

    // Bytes on the wire for a first load, by what the browser accepts.
    let mut totals = [0usize; 3];
    let files: Vec<(String, String)> = [("/".to_owned(), "index.html".to_owned())]
        .into_iter()
        .chain(
            assets
                .iter()
                .map(|a| (format!("/assets/{a}"), format!("assets/{a}"))),
        )
        .collect();
    for (path, file) in &files {
        let identity = dist_file(file).unwrap_or_else(|| panic!("{file} is in dist"));
        // compress.mjs writes X.br and X.gz beside every text file, and the page links only text.
        let compressed = |suffix: &str| {
            dist_file(&format!("{file}.{suffix}"))
                .unwrap_or_else(|| panic!("{file}.{suffix}: compress.mjs writes it"))
        };
        let encodings = [
            ("gzip, deflate, br, zstd", Some("br"), compressed("br")),
            ("gzip, deflate", Some("gzip"), compressed("gz")),
            ("identity", None, identity),
        ];
        for (i, (accept, expected_coding, expected_body)) in encodings.into_iter().enumerate() {
            let answer = get(&target, path, &[("accept-encoding", accept)]).await;
            assert_eq!(answer.status, 200, "{path} ({accept}): {answer:?}");
            assert_eq!(answer.header("content-encoding"), expected_coding, "{path}");
            assert!(
                answer.body == expected_body,
                "{path} ({accept}): other bytes"
            );
            assert_eq!(answer.header("vary"), Some("accept-encoding"), "{path}");
            assert!(answer.header("etag").is_some(), "{path}");
            let content_type = answer.header("content-type").unwrap_or_default();
            let (expected_type, cache) = if path == "/" {
                ("text/html; charset=utf-8", "no-cache")
            } else if path.ends_with(".js") {
                (
                    "text/javascript; charset=utf-8",
                    "public, max-age=31536000, immutable",
                )
            } else if path.ends_with(".css") {
                (
                    "text/css; charset=utf-8",
                    "public, max-age=31536000, immutable",
                )
            } else {
                panic!("{path}: an asset type this test does not know; add its content type")
            };
            assert_eq!(content_type, expected_type, "{path}");
            assert_eq!(answer.header("cache-control"), Some(cache), "{path}");
            totals[i] += answer.body.len();
        }
    }
    eprintln!(
        "first load ({} files): br {} bytes, gzip {} bytes, identity {} bytes",
        files.len(),
        totals[0],
        totals[1],
        totals[2]
    );

    // The same page under its own name, and HEAD without a body.
    let named = get(&target, "/index.html", &[]).await;
    assert_eq!(named.status, 200);
    assert_eq!(named.body, page);
    let head = grpc_web::http1(&target, "HEAD", "/", &[], b"").await?;
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_security_headers_and_no_cors() -> anyhow::Result<()> {
    let (_dir, cp, _admin) = archway_e2e::started().await?;
    let target = Target::plain(cp.process.addr);
    let page = dist_file("index.html").unwrap();
    let asset = linked_assets(&String::from_utf8_lossy(&page))
        .into_iter()
        .next()
        .unwrap();
    let origin = [("origin", "https://evil.example")];
    let answers = [
        ("page", get(&target, "/", &origin).await),
        (
            "asset",
            get(&target, &format!("/assets/{asset}"), &origin).await,
        ),
        (
            "missing asset",
            get(&target, "/assets/none.js", &origin).await,
        ),
        ("refusal", get(&target, "/metrics", &origin).await),
    ];
    for (what, answer) in &answers {
        assert_eq!(
            answer.header("content-security-policy"),
            Some(CSP),
            "{what}"
        );
        assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(answer.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(answer.header("x-frame-options"), Some("DENY"));
        // HSTS only over TLS; CORS never.
        assert_eq!(answer.header("strict-transport-security"), None, "{what}");
        for (name, _) in &answer.headers {
            assert!(
                !name.as_str().starts_with("access-control-"),
                "{what}: {name}"
            );
        }
    }
    // A CORS preflight from another origin gets no permission either.
    let preflight = grpc_web::http1(
        &target,
        "OPTIONS",
        LIST_APIS,
        &[
            ("origin", "https://evil.example"),
            ("access-control-request-method", "POST"),
        ],
        b"",
    )
    .await?;
    assert!(preflight.header("access-control-allow-origin").is_none());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_revalidates_with_its_etag() -> anyhow::Result<()> {
    let (_dir, cp, _admin) = archway_e2e::started().await?;
    let target = Target::plain(cp.process.addr);
    let br = [("accept-encoding", "br")];
    let first = get(&target, "/", &br).await;
    let etag = first.header("etag").expect("an ETag").to_owned();
    let again = get(&target, "/", &[br[0], ("if-none-match", &etag)]).await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    // Another encoding is another representation: sent in full.
    let other = get(
        &target,
        "/",
        &[("accept-encoding", "identity"), ("if-none-match", &etag)],
    )
    .await;
    assert_eq!(other.status, 200);
    assert_eq!(other.body, dist_file("index.html").unwrap());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_asset_is_404_not_a_refusal() -> anyhow::Result<()> {
    let (_dir, cp, _admin) = archway_e2e::started().await?;
    let target = Target::plain(cp.process.addr);
    let missing = get(&target, "/assets/no-such-file-0000.js", &[]).await;
    assert_eq!(missing.status, 404);
    assert!(missing.header("www-authenticate").is_none());
    Ok(())
}

/// Paths that only look like the UI's: the request line carries them as
/// written, so nothing between the test and the port tidies them up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn look_alikes_of_the_ui_paths_need_a_token() -> anyhow::Result<()> {
    let (_dir, cp, _admin) = archway_e2e::started().await?;
    let target = Target::plain(cp.process.addr);
    let look_alikes = [
        "/assets/../archway.v1.RestApiService/ListRestApis",
        "//assets/x.js",
        "/assets/%2e%2e",
        "/assets/%2e%2e/archway.v1.RestApiService/ListRestApis",
        "/assets/x/y",
        "/assetsX",
        "/assets/",
        "/index.html/x",
    ];
    for path in look_alikes {
        let answer = get(&target, path, &[]).await;
        assert_eq!(answer.status, 401, "{path}: {answer:?}");
        assert_eq!(answer.header("www-authenticate"), Some("Bearer"), "{path}");
        // As a grpc-web call too: refused, nothing listed.
        let call =
            grpc_web::call_http1(&target, path, None, &ListRestApisRequest::default()).await?;
        assert_refused(&call, Code::Unauthenticated, "authorization");
    }
    // Only reading the page is open.
    let post = grpc_web::http1(&target, "POST", "/", &[], b"").await?;
    assert_eq!(post.status, 401);
    // With a token, `..` is not resolved to the service behind it.
    let through = grpc_web::call_http1(
        &target,
        "/assets/../archway.v1.RestApiService/ListRestApis",
        Some(TEST_ADMIN_TOKEN),
        &ListRestApisRequest::default(),
    )
    .await?;
    assert_ne!(through.status()?.code(), Code::Ok, "{through:?}");
    assert!(through.messages.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_web_calls_with_an_admin_token_over_http1_and_http2() -> anyhow::Result<()> {
    let (_dir, cp, mut admin) = archway_e2e::started().await?;
    admin.create_api("made-by-grpc", ApiProtocol::Rest).await?;
    let target = Target::plain(cp.process.addr);
    let list = ListRestApisRequest::default();
    let http1 = grpc_web::call_http1(&target, LIST_APIS, Some(TEST_ADMIN_TOKEN), &list).await?;
    assert_eq!(api_ids(&http1), ["made-by-grpc"]);
    assert!(http1.trailers.is_some(), "the status is in a trailer frame");
    // A write through gRPC-web, seen by gRPC.
    let created = grpc_web::call_http1(
        &target,
        CREATE_API,
        Some(TEST_ADMIN_TOKEN),
        &create_api_request("made-by-web"),
    )
    .await?;
    let api: RestApi = created.message()?;
    assert_eq!(api.id, "made-by-web");
    let listed: Vec<String> = admin.list_apis().await?.into_iter().map(|a| a.id).collect();
    assert!(listed.contains(&"made-by-web".to_owned()), "{listed:?}");
    // HTTP/2 in clear (prior knowledge), as a proxy in front might speak it.
    let http2 = grpc_web::call_http2(&target, LIST_APIS, Some(TEST_ADMIN_TOKEN), &list).await?;
    assert_eq!(api_ids(&http2), ["made-by-grpc", "made-by-web"]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_web_with_a_read_only_token_reads_and_cannot_create() -> anyhow::Result<()> {
    let (_dir, cp, mut admin) = archway_e2e::started().await?;
    admin.create_api("existing", ApiProtocol::Rest).await?;
    let target = Target::plain(cp.process.addr);
    let reader = token_with_role(&target, TokenRole::ReadOnly).await;
    let list = grpc_web::call_http1(
        &target,
        LIST_APIS,
        Some(&reader),
        &ListRestApisRequest::default(),
    )
    .await?;
    assert_eq!(api_ids(&list), ["existing"]);
    for http2 in [false, true] {
        let request = create_api_request("not-allowed");
        let create = grpc_web::call(&target, http2, CREATE_API, Some(&reader), &request).await?;
        assert_refused(&create, Code::PermissionDenied, "needs an admin token");
    }
    let tokens = grpc_web::call_http1(
        &target,
        "/archway.v1.AdminTokenService/ListTokens",
        Some(&reader),
        &ListTokensRequest::default(),
    )
    .await?;
    assert_refused(&tokens, Code::PermissionDenied, "needs an admin token");
    assert_eq!(admin.list_apis().await?.len(), 1, "nothing was created");
    // Counted as the gRPC calls they are (PERMISSION_DENIED is 7).
    let metrics = archway_e2e::metrics::scrape(cp.process.addr).await?;
    let refused = archway_e2e::metrics::sample(
        &metrics,
        "archway_admin_calls_total",
        &[
            ("method", "archway.v1.RestApiService/CreateRestApi"),
            ("code", "7"),
        ],
    );
    assert_eq!(refused, Some(2.0));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_web_without_a_valid_token_is_unauthenticated() -> anyhow::Result<()> {
    let (_dir, cp, _admin) = archway_e2e::started().await?;
    let target = Target::plain(cp.process.addr);
    let list = ListRestApisRequest::default();
    let none = grpc_web::call_http1(&target, LIST_APIS, None, &list).await?;
    assert_refused(&none, Code::Unauthenticated, "authorization: Bearer");
    let unknown = grpc_web::call_http1(
        &target,
        LIST_APIS,
        Some("not-a-token-of-this-store-0123456789"),
        &list,
    )
    .await?;
    assert_refused(&unknown, Code::Unauthenticated, "unknown token");
    let node = grpc_web::call_http2(
        &target,
        LIST_APIS,
        Some(archway_e2e::TEST_NODE_TOKEN),
        &list,
    )
    .await?;
    assert_refused(&node, Code::PermissionDenied, "node");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_and_grpc_web_over_tls() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (pki, cp) = ControlPlane::start_tls(dir.path())?;
    assert!(cp.url().starts_with("https://"));
    let http1 = Target::tls(cp.process.addr, &pki, &[b"http/1.1"]);
    let http2 = Target::tls(cp.process.addr, &pki, &[b"h2"]);

    let page = get(&http1, "/", &[("accept-encoding", "br, gzip")]).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-security-policy"), Some(CSP));
    assert_eq!(
        page.header("strict-transport-security"),
        Some("max-age=31536000")
    );

    let created = grpc_web::call_http1(
        &http1,
        CREATE_API,
        Some(TEST_ADMIN_TOKEN),
        &create_api_request("over-tls"),
    )
    .await?;
    assert_eq!(created.message::<RestApi>()?.id, "over-tls");
    let list = ListRestApisRequest::default();
    for target in [&http1, &http2] {
        let http2 = target.tls.as_ref().unwrap().alpn_protocols == [b"h2".to_vec()];
        let listed =
            grpc_web::call(target, http2, LIST_APIS, Some(TEST_ADMIN_TOKEN), &list).await?;
        assert_eq!(api_ids(&listed), ["over-tls"]);
        assert_eq!(
            listed.headers["strict-transport-security"],
            "max-age=31536000"
        );
    }
    let reader = token_with_role(&http1, TokenRole::ReadOnly).await;
    let refused = grpc_web::call_http2(
        &http2,
        CREATE_API,
        Some(&reader),
        &create_api_request("nope"),
    )
    .await?;
    assert_refused(&refused, Code::PermissionDenied, "needs an admin token");
    let anonymous = grpc_web::call_http1(&http1, LIST_APIS, None, &list).await?;
    assert_refused(&anonymous, Code::Unauthenticated, "authorization");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_names_its_field_in_bad_request_details() -> anyhow::Result<()> {
    let (_dir, cp, mut admin) = archway_e2e::started().await?;
    let target = Target::plain(cp.process.addr);
    let bad_api = grpc_web::call_http1(
        &target,
        CREATE_API,
        Some(TEST_ADMIN_TOKEN),
        &create_api_request("Not An Id"),
    )
    .await?;
    assert_grpc_web(&bad_api);
    let status = bad_api.status()?;
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().starts_with("id: "), "{}", status.message());
    let details = status
        .get_details_bad_request()
        .expect("BadRequest details");
    assert_eq!(details.field_violations.len(), 1);
    assert_eq!(details.field_violations[0].field, "id");
    assert_eq!(
        format!("id: {}", details.field_violations[0].description),
        status.message()
    );

    // A bad path template, over gRPC-web and over gRPC: the same details.
    let api = admin.create_api("pets", ApiProtocol::Rest).await?;
    let request = CreateResourceRequest {
        api_id: api.id.clone(),
        parent_id: api.root_resource_id.clone(),
        path_part: "{id".into(),
    };
    let web = grpc_web::call_http1(&target, CREATE_RESOURCE, Some(TEST_ADMIN_TOKEN), &request)
        .await?
        .status()?;
    let native = admin
        .apis
        .create_resource(request)
        .await
        .expect_err("a bad path part is refused");
    for status in [web, native] {
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(
            status.message().starts_with("path_part: "),
            "{}",
            status.message()
        );
        let violations = status
            .get_details_bad_request()
            .expect("BadRequest details")
            .field_violations;
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].field, "path_part");
        assert!(
            violations[0].description.contains("without closing"),
            "{}",
            violations[0].description
        );
    }
    Ok(())
}
