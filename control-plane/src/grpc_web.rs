//! gRPC-web on the admin port, for the admin UI in the browser (browsers
//! cannot read HTTP/2 trailers, so they cannot speak gRPC itself).
//!
//! A gRPC-web call is translated to gRPC (tonic-web) *before* anything else
//! sees it, so the token check, the roles and the call metrics apply to it
//! exactly as to gRPC, and every answer, refusals included, is translated
//! back: the status travels as `grpc-status`/`grpc-message` headers (an
//! error before any message) or in the grpc-web trailer frame. Every other
//! request skips the translation: tonic-web refuses plain HTTP/1.1 with 400,
//! which would break the UI's page and `/metrics`.
//!
//! No CORS: the UI is served from this same origin, so no other origin is
//! given a way in.

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tonic_web::{GrpcWebLayer, GrpcWebService};
use tower::{Layer, ServiceExt};

/// The content types tonic-web translates (binary and base64 text); any
/// other goes on as it came.
const GRPC_WEB_CONTENT_TYPES: [&str; 4] = [
    "application/grpc-web",
    "application/grpc-web+proto",
    "application/grpc-web-text",
    "application/grpc-web-text+proto",
];

fn is_grpc_web(request: &Request) -> bool {
    request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| GRPC_WEB_CONTENT_TYPES.contains(&v))
}

/// `inner` (the whole admin port: auth, metrics, services, UI) reached
/// directly by gRPC and HTTP, and through tonic-web's translation by
/// gRPC-web.
pub fn accept(inner: Router) -> Router {
    let web = GrpcWebLayer::new().layer(inner.clone());
    Router::new()
        .fallback_service(inner)
        .layer(axum::middleware::from_fn_with_state(web, translate))
}

async fn translate(
    State(web): State<GrpcWebService<Router>>,
    request: Request,
    next: Next,
) -> Response {
    if !is_grpc_web(&request) {
        return next.run(request).await;
    }
    match web.oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::{get, post};

    fn request(method: &str, path: &str, content_type: Option<&str>) -> Request {
        let mut builder = http::Request::builder()
            .method(method)
            .uri(path)
            .version(http::Version::HTTP_11);
        if let Some(content_type) = content_type {
            builder = builder.header(http::header::CONTENT_TYPE, content_type);
        }
        builder.body(Body::empty()).unwrap()
    }

    /// The inner router answers what content type reached it.
    fn echo() -> Router {
        async fn seen(request: Request) -> String {
            request
                .headers()
                .get(http::header::CONTENT_TYPE)
                .map_or("none".into(), |v| v.to_str().unwrap().to_owned())
        }
        Router::new()
            .route("/", get(seen))
            .route("/svc/Call", post(seen))
    }

    #[tokio::test]
    async fn plain_http_1_requests_pass_untouched() {
        let answer = accept(echo())
            .oneshot(request("GET", "/", None))
            .await
            .unwrap();
        assert_eq!(answer.status(), http::StatusCode::OK);
        let body = axum::body::to_bytes(answer.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(&body[..], b"none");
    }

    #[tokio::test]
    async fn grpc_web_reaches_the_inner_router_as_grpc() {
        let answer = accept(echo())
            .oneshot(request(
                "POST",
                "/svc/Call",
                Some("application/grpc-web+proto"),
            ))
            .await
            .unwrap();
        assert_eq!(
            answer.headers()[http::header::CONTENT_TYPE],
            "application/grpc-web+proto"
        );
        let body = axum::body::to_bytes(answer.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(&body[..], b"application/grpc");
    }
}
