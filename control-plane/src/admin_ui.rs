//! The admin web UI's static files, embedded in the binary at build time
//! (see `control-plane/build.rs`) and served at `/` (index.html) and
//! `/assets/<file>` of the admin port. They hold no data and need no token
//! ([`crate::auth`] opens exactly these paths); the page calls the admin
//! API through gRPC-web with the operator's token.
//!
//! Each text file comes with the `.br` and `.gz` siblings the UI's build
//! wrote, so nothing is compressed per request: the server picks brotli,
//! then gzip, then the file as it is, by `Accept-Encoding`. Asset names
//! carry a content hash, so they are cached for a year; index.html is
//! revalidated on every load (`no-cache`, with an ETag) so a new build is
//! picked up at once.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, HeaderValue, StatusCode, Uri, header};

/// One served file and its precompressed forms.
#[derive(Debug)]
pub(crate) struct Asset {
    /// Relative to `admin-ui/dist`: `index.html` or `assets/<file>`.
    pub(crate) path: &'static str,
    pub(crate) content_type: &'static str,
    /// A hash of the file, unquoted; each encoding gets its own ETag.
    pub(crate) etag: &'static str,
    pub(crate) identity: &'static [u8],
    pub(crate) brotli: Option<&'static [u8]>,
    pub(crate) gzip: Option<&'static [u8]>,
}

include!(concat!(env!("OUT_DIR"), "/admin_ui_assets.rs"));

/// Content-hashed names never change content.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Always revalidated (cheap with the ETag), so a new build shows at once.
const REVALIDATE: &str = "no-cache";

/// The routes that serve the UI; merged into the admin port's router.
pub fn routes() -> Router {
    Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route("/assets/{file}", get(asset))
}

async fn index(headers: HeaderMap) -> Response {
    match find(EMBEDDED, "index.html") {
        Some(page) => respond(page, &headers, REVALIDATE),
        // build.rs refuses to build without it.
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Looked up by the raw path, not the decoded segment: only names the
/// build embedded, spelled exactly, are found.
async fn asset(uri: Uri, headers: HeaderMap) -> Response {
    let found = uri
        .path()
        .strip_prefix('/')
        .and_then(|path| find(EMBEDDED, path));
    match found {
        Some(asset) => respond(asset, &headers, IMMUTABLE),
        None => (StatusCode::NOT_FOUND, "no such asset\n").into_response(),
    }
}

fn find<'a>(assets: &'a [Asset], path: &str) -> Option<&'a Asset> {
    assets.iter().find(|asset| asset.path == path)
}

/// How the body is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

impl Encoding {
    fn token(self) -> Option<&'static str> {
        match self {
            Self::Brotli => Some("br"),
            Self::Gzip => Some("gzip"),
            Self::Identity => None,
        }
    }
}

/// The answer for `asset`: its best encoding for the request, or 304 when
/// the client's copy (If-None-Match) is that one.
fn respond(asset: &Asset, request: &HeaderMap, cache_control: &'static str) -> Response {
    let accept = AcceptEncoding::parse(request.get(header::ACCEPT_ENCODING));
    let (encoding, body) = match (asset.brotli, asset.gzip) {
        (Some(br), _) if accept.allows("br") => (Encoding::Brotli, br),
        (_, Some(gz)) if accept.allows("gzip") => (Encoding::Gzip, gz),
        _ => (Encoding::Identity, asset.identity),
    };
    let etag = match encoding.token() {
        Some(token) => format!("\"{}.{token}\"", asset.etag),
        None => format!("\"{}\"", asset.etag),
    };
    let not_modified = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|list| matches_etag(list, &etag));
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = Response::new(Body::from(Bytes::from_static(body)));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
        if let Some(token) = encoding.token() {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(token));
        }
        response
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    response
}

/// Whether an If-None-Match list names `etag` (weak comparison, RFC 9110
/// §13.1.2: a `W/` prefix does not matter) or is `*`.
fn matches_etag(list: &str, etag: &str) -> bool {
    list.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == etag
    })
}

/// The codings an `Accept-Encoding` header allows (RFC 9110 §12.5.3): a
/// coding is allowed when listed with a q above 0, or not listed while `*`
/// is. No header: identity only.
#[derive(Debug, Default)]
struct AcceptEncoding {
    /// (coding, q) as listed, codings in lowercase.
    listed: Vec<(String, f32)>,
}

impl AcceptEncoding {
    fn parse(value: Option<&HeaderValue>) -> Self {
        let Some(text) = value.and_then(|v| v.to_str().ok()) else {
            return Self::default();
        };
        let listed = text
            .split(',')
            .filter_map(|item| {
                let mut parts = item.split(';');
                let coding = parts.next()?.trim().to_ascii_lowercase();
                if coding.is_empty() {
                    return None;
                }
                // A q we cannot read counts as 0: refuse rather than guess.
                let q = parts
                    .filter_map(|param| param.split_once('='))
                    .find(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
                    .map_or(1.0, |(_, value)| value.trim().parse().unwrap_or(0.0));
                Some((coding, q))
            })
            .collect();
        Self { listed }
    }

    fn allows(&self, coding: &str) -> bool {
        let q = |name: &str| {
            self.listed
                .iter()
                .find(|(listed, _)| listed == name)
                .map(|(_, q)| *q)
        };
        // `x-gzip` is gzip (RFC 9110 §8.4.1.3).
        let own = q(coding).or_else(|| (coding == "gzip").then(|| q("x-gzip")).flatten());
        own.or_else(|| q("*")).is_some_and(|q| q > 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static FAKE: &[Asset] = &[
        Asset {
            path: "index.html",
            content_type: "text/html; charset=utf-8",
            etag: "00000000000000aa",
            identity: b"<html>page</html>",
            brotli: Some(b"BR-page"),
            gzip: Some(b"GZ-page"),
        },
        Asset {
            path: "assets/logo-1a2b.png",
            content_type: "image/png",
            etag: "00000000000000bb",
            identity: b"PNG",
            brotli: None,
            gzip: None,
        },
    ];

    fn request(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(name, value.parse().unwrap());
        }
        headers
    }

    async fn body(response: Response) -> Vec<u8> {
        axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap()
            .to_vec()
    }

    fn accepts(header: &str) -> (bool, bool) {
        let accept = AcceptEncoding::parse(Some(&HeaderValue::from_str(header).unwrap()));
        (accept.allows("br"), accept.allows("gzip"))
    }

    #[test]
    fn accept_encoding_as_browsers_and_tools_send_it() {
        assert_eq!(accepts("gzip, deflate, br, zstd"), (true, true));
        assert_eq!(accepts("gzip"), (false, true));
        assert_eq!(accepts("x-gzip"), (false, true));
        assert_eq!(accepts("BR;q=0.5"), (true, false));
        assert_eq!(accepts("br;q=0, gzip"), (false, true));
        assert_eq!(accepts("*"), (true, true));
        assert_eq!(accepts("*;q=0"), (false, false));
        assert_eq!(accepts("br;q=0, *"), (false, true));
        assert_eq!(accepts("identity"), (false, false));
        assert_eq!(accepts("br;q=nonsense, gzip"), (false, true));
        let none = AcceptEncoding::parse(None);
        assert!(!none.allows("br") && !none.allows("gzip"));
    }

    #[tokio::test]
    async fn brotli_then_gzip_then_identity() {
        let page = find(FAKE, "index.html").unwrap();
        let cases = [
            ("gzip, deflate, br", Some("br"), &b"BR-page"[..]),
            ("gzip", Some("gzip"), &b"GZ-page"[..]),
            ("identity", None, &b"<html>page</html>"[..]),
        ];
        for (accept, encoding, expected) in cases {
            let response = respond(
                page,
                &request(&[(header::ACCEPT_ENCODING, accept)]),
                REVALIDATE,
            );
            assert_eq!(response.status(), StatusCode::OK);
            let headers = response.headers().clone();
            assert_eq!(
                headers
                    .get(header::CONTENT_ENCODING)
                    .map(|v| v.to_str().unwrap()),
                encoding,
                "{accept}"
            );
            assert_eq!(headers[header::VARY], "accept-encoding");
            assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
            assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
            assert_eq!(body(response).await, expected, "{accept}");
        }
    }

    #[tokio::test]
    async fn a_file_without_siblings_is_sent_as_it_is() {
        let logo = find(FAKE, "assets/logo-1a2b.png").unwrap();
        let response = respond(
            logo,
            &request(&[(header::ACCEPT_ENCODING, "br, gzip")]),
            IMMUTABLE,
        );
        assert!(response.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(response.headers()[header::CONTENT_TYPE], "image/png");
        assert_eq!(body(response).await, b"PNG");
    }

    /// Each encoding has its own ETag: a cached gzip copy never validates
    /// a brotli answer.
    #[tokio::test]
    async fn if_none_match_answers_304_for_the_same_encoding_only() {
        let page = find(FAKE, "index.html").unwrap();
        let first = respond(
            page,
            &request(&[(header::ACCEPT_ENCODING, "br")]),
            REVALIDATE,
        );
        let etag = first.headers()[header::ETAG].to_str().unwrap().to_owned();
        assert_eq!(etag, "\"00000000000000aa.br\"");
        for if_none_match in [etag.clone(), format!("W/{etag}"), "\"x\", *".into()] {
            let again = respond(
                page,
                &request(&[
                    (header::ACCEPT_ENCODING, "br"),
                    (header::IF_NONE_MATCH, &if_none_match),
                ]),
                REVALIDATE,
            );
            assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{if_none_match}");
            assert_eq!(again.headers()[header::ETAG], etag.as_str());
            assert!(body(again).await.is_empty());
        }
        let other_encoding = respond(
            page,
            &request(&[
                (header::ACCEPT_ENCODING, "gzip"),
                (header::IF_NONE_MATCH, &etag),
            ]),
            REVALIDATE,
        );
        assert_eq!(other_encoding.status(), StatusCode::OK);
        assert_eq!(
            other_encoding.headers()[header::ETAG],
            "\"00000000000000aa.gzip\""
        );
    }

    /// The table build.rs wrote: index.html always, and only plain files
    /// under assets/, each with a content type.
    #[test]
    fn the_embedded_table_holds_the_page_and_flat_assets() {
        let page = find(EMBEDDED, "index.html").expect("build.rs embeds index.html");
        assert_eq!(page.content_type, "text/html; charset=utf-8");
        for asset in EMBEDDED.iter().filter(|a| a.path != "index.html") {
            let name = asset
                .path
                .strip_prefix("assets/")
                .unwrap_or_else(|| panic!("{} is outside assets/", asset.path));
            assert!(!name.is_empty() && !name.contains('/'), "{}", asset.path);
            assert!(!asset.content_type.is_empty());
        }
    }
}
