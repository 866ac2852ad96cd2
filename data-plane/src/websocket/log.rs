//! Access-log lines for a connection's MESSAGE and DISCONNECT events, in
//! the stage's format (its CONNECT is the upgrade request's own line,
//! written by the pipeline). Variables that describe an HTTP exchange take
//! the event's values: `$context.status` is the integration's status (or
//! the refusal's), `$context.httpMethod` and `$context.path` are empty.

use super::event::{Event, epoch_ms};
use crate::access_log::StageAccessLog;
use crate::pipeline::gateway_response::GatewayResponse;
use crate::pipeline::observe::write_clf_time;
use archway_proto::access_log::ContextVar;
use std::fmt::Write;
use std::time::Duration;

/// How one event ended, for its line.
#[derive(Debug)]
pub struct Outcome<'o> {
    /// The integration's status, the refusal's, or 200 when nothing was
    /// called.
    pub status: u16,
    pub latency: Duration,
    pub integration_latency: Option<Duration>,
    pub refusal: Option<&'o GatewayResponse>,
    /// Bytes sent back to the client for this event.
    pub response_length: usize,
}

/// Writes `event`'s line to `log`.
pub fn write(log: &StageAccessLog, event: &Event<'_>, outcome: &Outcome<'_>) {
    let mut line = String::with_capacity(256);
    let peer = event.peer;
    log.template.render(&mut line, |var, out| {
        let _ = match var {
            ContextVar::RequestId => write!(out, "{}", event.request_id.as_str()),
            ContextVar::ApiId => write!(out, "{}", peer.api_id),
            ContextVar::Stage => write!(out, "{}", peer.stage),
            ContextVar::DomainName => write!(out, "{}", peer.domain_name),
            ContextVar::HttpMethod | ContextVar::Path | ContextVar::TraceId => Ok(()),
            ContextVar::ResourcePath | ContextVar::RouteKey => write!(out, "{}", event.route_key),
            ContextVar::Protocol => write!(out, "WebSocket"),
            ContextVar::Status => write!(out, "{}", outcome.status),
            ContextVar::ResponseLength => write!(out, "{}", outcome.response_length),
            ContextVar::ResponseLatency => write!(out, "{}", outcome.latency.as_millis()),
            ContextVar::IntegrationLatency => match outcome.integration_latency {
                Some(l) => write!(out, "{}", l.as_millis()),
                None => Ok(()),
            },
            ContextVar::IntegrationStatus => match (outcome.integration_latency, outcome.refusal) {
                (Some(_), None) => write!(out, "{}", outcome.status),
                _ => Ok(()),
            },
            ContextVar::RequestTime => write_clf_time(out, event.at),
            ContextVar::RequestTimeEpoch => write!(out, "{}", epoch_ms(event.at)),
            ContextVar::SourceIp => write!(out, "{}", peer.source_ip),
            ContextVar::UserAgent => write!(out, "{}", peer.user_agent),
            ContextVar::ErrorMessage => {
                write!(out, "{}", outcome.refusal.map_or("", |r| r.message()))
            }
            ContextVar::ErrorResponseType => {
                write!(out, "{}", outcome.refusal.map_or("", |r| r.response_type()))
            }
            ContextVar::ErrorValidationErrorString | ContextVar::CacheStatus => Ok(()),
            ContextVar::ConnectionId => write!(out, "{}", peer.connection_id),
            ContextVar::EventType => write!(out, "{}", event.kind.as_str()),
            ContextVar::MessageId => write!(out, "{}", event.message_id.unwrap_or("")),
        };
    });
    log.write(line);
}
