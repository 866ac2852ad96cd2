//! Phase (response side): header finishing. Every answer, the backend's or
//! the gateway's own refusal, leaves with the request's id in
//! `x-amzn-RequestId`, as AWS's do, so a client can quote it and an
//! operator find the access log line and the trace.

use super::GatewayBody;
use super::context::Context;
use super::headers::X_AMZN_REQUEST_ID;
use http::Response;

/// The phase.
pub fn finish_headers(cx: &Context<'_>, response: &mut Response<GatewayBody>) {
    response
        .headers_mut()
        .insert(X_AMZN_REQUEST_ID, cx.observation.request_id_header());
}
