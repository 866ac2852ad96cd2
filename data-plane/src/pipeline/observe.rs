//! The last stage: what every request leaves behind — its request id in the
//! `x-amzn-RequestId` header, metrics, its span (when tracing is on) and the
//! stage's access log line (when configured).
//!
//! An [`Observation`] starts with the request and is filled in by the stages
//! as they learn things (API, stage, route, integration timing). It holds
//! references into the request's tables, so it costs no copies; the request
//! details that logs need are copied only for stages that log or traces
//! that record.

use super::GatewayBody;
use super::gateway_response::GatewayResponse;
use super::headers::ClientInfo;
use crate::tables::{ApiTable, Route, StageTable};
use crate::telemetry::Telemetry;
use crate::telemetry::metrics::{self, Measurement, method_label, none_label};
use crate::telemetry::propagation;
use archway_proto::access_log::ContextVar;
use http::{HeaderValue, Request, Response, StatusCode};
use opentelemetry::KeyValue;
use opentelemetry::trace::{
    Span as _, SpanContext, SpanKind, Status, TraceContextExt as _, Tracer as _,
};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

/// A request id in the UUID form AWS uses, kept inline.
#[derive(Clone, Copy)]
pub struct RequestId([u8; 36]);

impl RequestId {
    /// Random (version 4) ids: unique without coordination across nodes.
    pub fn new() -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut bits = fastrand::u128(..);
        bits = (bits & !(0xf << 76)) | (0x4 << 76); // version 4
        bits = (bits & !(0x3 << 62)) | (0x2 << 62); // RFC 4122 variant
        let mut out = [b'-'; 36];
        let mut nibble = 32;
        for (i, slot) in out.iter_mut().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                continue;
            }
            nibble -= 1;
            *slot = HEX[((bits >> (nibble * 4)) & 0xf) as usize];
        }
        Self(out)
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex digits and dashes")
    }
}

impl Default for RequestId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A step of the pipeline a request passed, recorded in order on its
/// [`Observation`] (and as an event on its span, when traced).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The API and stage were found.
    Resolved,
    RouteMatched,
    /// A JWT or custom authorizer accepted the caller.
    Authorized,
    /// An IAM caller's SigV4 signature checked out.
    SignatureVerified,
    /// The resource and identity policies allowed the call.
    PolicyAllowed,
    ApiKeyAccepted,
    /// Some throttle or quota was checked and admitted the request.
    LimitsPassed,
    /// Answered from the stage cache.
    CacheHit,
    IntegrationAnswered,
}

impl Phase {
    /// The span event's name.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Resolved => "resolved",
            Phase::RouteMatched => "route.matched",
            Phase::Authorized => "authorized",
            Phase::SignatureVerified => "signature.verified",
            Phase::PolicyAllowed => "policy.allowed",
            Phase::ApiKeyAccepted => "api_key.accepted",
            Phase::LimitsPassed => "limits.passed",
            Phase::CacheHit => "cache.hit",
            Phase::IntegrationAnswered => "integration.answered",
        }
    }
}

/// The phases passed, kept inline: each is recorded once at most.
#[derive(Debug, Default)]
struct PhaseLog {
    /// One slot per kind of phase: each is passed at most once.
    passed: [Option<Phase>; 9],
    len: u8,
}

impl PhaseLog {
    fn push(&mut self, phase: Phase) {
        if let Some(slot) = self.passed.get_mut(usize::from(self.len)) {
            *slot = Some(phase);
            self.len += 1;
        }
    }

    fn iter(&self) -> impl Iterator<Item = Phase> + '_ {
        self.passed.iter().map_while(|p| *p)
    }
}

/// What access logs and spans need of the request itself.
#[derive(Debug)]
struct Details {
    path: String,
    protocol: &'static str,
    user_agent: String,
    source_ip: IpAddr,
    domain: String,
    /// The caller's trace id, when it sent a `traceparent`.
    trace_id: Option<String>,
}

pub struct Observation<'t> {
    started: Instant,
    pub request_id: RequestId,
    method: http::Method,
    pub api: Option<&'t ApiTable>,
    pub stage: Option<&'t StageTable>,
    pub route: Option<&'t Route>,
    pub integration_latency: Option<Duration>,
    pub integration_status: Option<StatusCode>,
    /// What the stage cache did; None for methods it does not cache.
    pub cache_status: Option<crate::stage_cache::CacheStatus>,
    pub refusal: Option<GatewayResponse>,
    /// A WebSocket connect: the id the connection gets
    /// (`$context.connectionId`; `$context.eventType` is then CONNECT).
    pub connection_id: Option<Box<str>>,
    span: Option<opentelemetry_sdk::trace::Span>,
    details: Option<Box<Details>>,
    phases: PhaseLog,
}

impl<'t> Observation<'t> {
    pub fn start<B>(request: &Request<B>, telemetry: &Telemetry) -> Self {
        let span = telemetry.tracer.as_ref().and_then(|tracer| {
            let parent = match request.headers().get(propagation::TRACEPARENT) {
                None => opentelemetry::Context::new(),
                Some(_) => propagation::extract(request.headers()),
            };
            let caller = parent.span();
            let caller = caller.span_context();
            if caller.is_valid() {
                // The caller decided; one that did not sample has its
                // traceparent passed on untouched.
                if !caller.is_sampled() {
                    return None;
                }
            } else if !telemetry.sample_new_trace() {
                return None;
            }
            Some(
                tracer
                    .span_builder("archway.request")
                    .with_kind(SpanKind::Server)
                    .start_with_context(tracer, &parent),
            )
        });
        Self {
            started: Instant::now(),
            request_id: RequestId::new(),
            method: request.method().clone(),
            api: None,
            stage: None,
            route: None,
            integration_latency: None,
            integration_status: None,
            cache_status: None,
            refusal: None,
            connection_id: None,
            span,
            details: None,
            phases: PhaseLog::default(),
        }
    }

    /// The span to continue in the integration request, if tracing is on.
    pub fn span_context(&self) -> Option<&SpanContext> {
        self.span
            .as_ref()
            .map(|s| s.span_context())
            .filter(|cx| cx.is_valid())
    }

    fn recording(&self) -> bool {
        self.span.as_ref().is_some_and(|s| s.is_recording())
    }

    /// Records that the request passed `phase` (and marks it on the span).
    pub fn event(&mut self, phase: Phase) {
        self.phases.push(phase);
        if let Some(span) = self.span.as_mut().filter(|s| s.is_recording()) {
            span.add_event(phase.name(), Vec::new());
        }
    }

    /// The phases the request passed, in order.
    pub fn phases(&self) -> impl Iterator<Item = Phase> + '_ {
        self.phases.iter()
    }

    /// When the request arrived, by the wall clock.
    pub fn received_at(&self) -> SystemTime {
        SystemTime::now() - self.started.elapsed()
    }

    /// The request id, as the `x-amzn-RequestId` header carries it.
    pub fn request_id_header(&self) -> HeaderValue {
        HeaderValue::from_bytes(&self.request_id.0).expect("hex digits and dashes")
    }

    /// Copies what logs and spans need from the request, if anything needs
    /// it; call before the request moves on to the integration.
    pub fn keep_details(&mut self, request: &http::request::Parts, client: &ClientInfo) {
        let logs = self.stage.is_some_and(|s| s.access_log.is_some());
        if self.details.is_some() || !(logs || self.recording()) {
            return;
        }
        let header = |name: &str| {
            request
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let traceparent = header("traceparent");
        self.details = Some(Box::new(Details {
            path: request.uri.path().to_owned(),
            protocol: match request.version {
                http::Version::HTTP_2 => "HTTP/2.0",
                http::Version::HTTP_10 => "HTTP/1.0",
                _ => "HTTP/1.1",
            },
            user_agent: header("user-agent"),
            source_ip: client.ip,
            domain: request
                .uri
                .host()
                .map(str::to_owned)
                .unwrap_or_else(|| header("host")),
            trace_id: traceparent
                .split('-')
                .nth(1)
                .filter(|id| id.len() == 32)
                .map(str::to_owned),
        }));
    }

    /// The logging phase: records the request in metrics, its span and the
    /// stage's access log.
    pub fn finish(mut self, response: &Response<GatewayBody>, telemetry: &Telemetry) {
        let status = response.status();
        let elapsed = self.started.elapsed();

        // Built only when a series is bound, recorded unbound, or traced.
        let labels = || {
            [
                self.api
                    .map_or_else(|| none_label("api"), |a| a.label.clone()),
                self.stage
                    .map_or_else(|| none_label("stage"), |s| s.label.clone()),
                self.route
                    .map_or_else(|| none_label("route"), |r| r.label.clone()),
                method_label(&self.method),
                KeyValue::new("status", i64::from(status.as_u16())),
            ]
        };
        let measurement = Measurement {
            stage: self.stage.map_or("", |s| &s.name),
            method: &self.method,
            status,
            elapsed,
            integration: self.integration_latency,
            labels: &labels,
        };
        match (self.stage, self.route) {
            (Some(_), Some(route)) => route.series.record(&telemetry.metrics, &measurement),
            _ => metrics::record_unbound(&telemetry.metrics, &measurement),
        }

        if let Some(mut span) = self.span.take() {
            if span.is_recording() {
                self.annotate(&mut span, status, &labels());
            }
            span.end();
        }
        if let Some(log) = self.stage.and_then(|s| s.access_log.as_ref()) {
            // Wall-clock time only for requests that log it.
            let received_at = SystemTime::now() - elapsed;
            let mut line = String::with_capacity(256);
            log.template.render(&mut line, |var, out| {
                self.context_value(var, status, elapsed, received_at, response, out)
            });
            log.write(line);
        }
    }

    fn annotate(
        &self,
        span: &mut opentelemetry_sdk::trace::Span,
        status: StatusCode,
        attributes: &[KeyValue; 5],
    ) {
        let route = self.route.map_or("(none)", |r| &*r.resource_path);
        span.update_name(format!("{} {route}", self.method));
        span.set_attribute(KeyValue::new("archway.api_id", attributes[0].value.clone()));
        span.set_attribute(KeyValue::new("archway.stage", attributes[1].value.clone()));
        span.set_attribute(KeyValue::new("http.route", attributes[2].value.clone()));
        span.set_attribute(KeyValue::new(
            "http.request.method",
            attributes[3].value.clone(),
        ));
        span.set_attribute(KeyValue::new(
            "http.response.status_code",
            i64::from(status.as_u16()),
        ));
        span.set_attribute(KeyValue::new(
            "archway.request_id",
            self.request_id.as_str().to_owned(),
        ));
        if let Some(latency) = self.integration_latency {
            span.set_attribute(KeyValue::new(
                "archway.integration.latency_ms",
                latency.as_secs_f64() * 1000.0,
            ));
        }
        if let Some(details) = &self.details {
            span.set_attribute(KeyValue::new("url.path", details.path.clone()));
            span.set_attribute(KeyValue::new(
                "client.address",
                details.source_ip.to_string(),
            ));
        }
        if let Some(refusal) = &self.refusal {
            span.set_attribute(KeyValue::new("archway.error.type", refusal.response_type()));
        }
        if status.is_server_error() {
            span.set_status(Status::error(status.to_string()));
        }
    }

    /// The value of one `$context` variable.
    fn context_value(
        &self,
        var: ContextVar,
        status: StatusCode,
        elapsed: Duration,
        received_at: SystemTime,
        response: &Response<GatewayBody>,
        out: &mut String,
    ) {
        let details = self.details.as_deref();
        let _ = match var {
            ContextVar::RequestId => write!(out, "{}", self.request_id.as_str()),
            ContextVar::ApiId => write!(out, "{}", self.api.map_or("", |a| &*a.id)),
            ContextVar::Stage => write!(out, "{}", self.stage.map_or("", |s| &*s.name)),
            ContextVar::DomainName => write!(out, "{}", details.map_or("", |d| &*d.domain)),
            ContextVar::HttpMethod => write!(out, "{}", self.method),
            ContextVar::Path => write!(out, "{}", details.map_or("", |d| &*d.path)),
            ContextVar::ResourcePath => {
                write!(out, "{}", self.route.map_or("", |r| &*r.resource_path))
            }
            ContextVar::Protocol => write!(out, "{}", details.map_or("", |d| d.protocol)),
            ContextVar::Status => write!(out, "{}", status.as_u16()),
            ContextVar::ResponseLength => {
                match response.headers().get(http::header::CONTENT_LENGTH) {
                    Some(v) => write!(out, "{}", v.to_str().unwrap_or("")),
                    None => Ok(()),
                }
            }
            ContextVar::ResponseLatency => write!(out, "{}", elapsed.as_millis()),
            ContextVar::IntegrationLatency => match self.integration_latency {
                Some(l) => write!(out, "{}", l.as_millis()),
                None => Ok(()),
            },
            ContextVar::IntegrationStatus => match self.integration_status {
                Some(s) => write!(out, "{}", s.as_u16()),
                None => Ok(()),
            },
            ContextVar::RequestTime => write_clf_time(out, received_at),
            ContextVar::RequestTimeEpoch => write!(
                out,
                "{}",
                received_at
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis())
            ),
            ContextVar::SourceIp => match details {
                Some(d) => write!(out, "{}", d.source_ip),
                None => Ok(()),
            },
            ContextVar::UserAgent => write!(out, "{}", details.map_or("", |d| &*d.user_agent)),
            ContextVar::ErrorMessage => {
                write!(out, "{}", self.refusal.as_ref().map_or("", |r| r.message()))
            }
            ContextVar::ErrorValidationErrorString => write!(
                out,
                "{}",
                self.refusal
                    .as_ref()
                    .map_or("", |r| r.validation_error_string())
            ),
            ContextVar::ErrorResponseType => {
                write!(
                    out,
                    "{}",
                    self.refusal.as_ref().map_or("", |r| r.response_type())
                )
            }
            ContextVar::CacheStatus => write!(
                out,
                "{}",
                self.cache_status
                    .map_or("", crate::stage_cache::CacheStatus::as_str)
            ),
            ContextVar::ConnectionId => {
                write!(out, "{}", self.connection_id.as_deref().unwrap_or(""))
            }
            ContextVar::EventType => match self.connection_id {
                Some(_) => write!(out, "CONNECT"),
                None => Ok(()),
            },
            ContextVar::RouteKey => write!(
                out,
                "{}",
                self.route
                    .and_then(|r| r.route_key.as_deref())
                    .unwrap_or("")
            ),
            ContextVar::MessageId => Ok(()),
            ContextVar::TraceId => match self.span_context() {
                Some(cx) => write!(out, "{}", cx.trace_id()),
                None => write!(
                    out,
                    "{}",
                    details.and_then(|d| d.trace_id.as_deref()).unwrap_or("")
                ),
            },
        };
    }
}

/// `27/Nov/2026:22:41:33 +0000`, the Common Log Format time, in UTC.
pub(crate) fn write_clf_time(out: &mut String, at: SystemTime) -> std::fmt::Result {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = archway_proto::quota::civil_from_days(days as i64);
    write!(
        out,
        "{day:02}/{}/{year}:{:02}:{:02}:{:02} +0000",
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_uuid_v4_shaped_and_distinct() {
        let a = RequestId::new();
        let b = RequestId::new();
        assert_ne!(a.as_str(), b.as_str());
        let s = a.as_str();
        assert_eq!(s.len(), 36);
        assert_eq!(&s[14..15], "4");
        assert!(matches!(&s[19..20], "8" | "9" | "a" | "b"), "{s}");
        assert_eq!(s.matches('-').count(), 4);
    }

    #[test]
    fn clf_time() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_819_293);
        let mut out = String::new();
        write_clf_time(&mut out, at).unwrap();
        assert_eq!(out, "27/Nov/2026:22:41:33 +0000");
        let mut out = String::new();
        write_clf_time(
            &mut out,
            SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400),
        )
        .unwrap();
        assert_eq!(out, "29/Feb/2000:00:00:00 +0000");
    }
}
