//! MOCK integrations: the gateway answers with the configured status,
//! headers and body; no backend is involved.

use super::GatewayBody;
use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};
use http_body_util::{Either, Full};

pub fn respond(status: StatusCode, headers: &HeaderMap, body: &Bytes) -> Response<GatewayBody> {
    let mut response = Response::new(Either::Right(Full::new(body.clone())));
    *response.status_mut() = status;
    if !headers.is_empty() {
        *response.headers_mut() = headers.clone();
    }
    response
}
