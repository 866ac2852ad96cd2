//! `AWS_PROXY` integrations with a function: the request becomes AWS's
//! proxy event ([`event_v1`] for payload format 1.0, [`event_v2`] for 2.0),
//! the function is invoked through the Lambda Invoke API ([`invoke`]), and
//! its answer becomes the response ([`response`]).
//!
//! The events are what AWS sends, field for field, so a function written
//! for AWS runs here unchanged; the unit tests read them back with the
//! `aws_lambda_events` crate's types and compare them with its fixtures.
//! Header names are given lowercase, as HTTP/2 carries them (the client's
//! HTTP/1 spelling is not kept on the proxy path). This differs from AWS's
//! REST 1.0 events, which keep the client's spelling (`Content-Type`); the
//! README says so, and handlers should look headers up without case.

pub mod event_v1;
pub mod event_v2;
pub mod invoke;
pub mod response;

use http::HeaderMap;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use std::borrow::Cow;
use std::collections::HashMap;
use std::time::SystemTime;

/// Everything an event is made of, borrowed from the request and tables.
#[derive(Debug)]
pub struct EventInput<'a> {
    /// The resource template, `/pets/{id}`.
    pub resource_path: &'a str,
    /// The resource's id.
    pub resource_id: &'a str,
    pub stage: &'a str,
    /// The path after the stage, `/pets/7` (empty for the stage root).
    pub path: &'a str,
    pub method: &'a str,
    pub headers: &'a HeaderMap,
    /// The raw query string.
    pub query: Option<&'a str>,
    /// Path parameters, raw (percent-encoded) as matched.
    pub params: &'a [(&'a str, &'a str)],
    pub stage_variables: &'a HashMap<Box<str>, Box<str>>,
    pub account_id: &'a str,
    pub api_id: &'a str,
    /// The Host the client called.
    pub domain_name: &'a str,
    pub request_id: &'a str,
    /// When the request arrived.
    pub time: SystemTime,
    pub source_ip: &'a str,
    /// `HTTP/1.1`, `HTTP/2.0`.
    pub protocol: &'a str,
    /// 2.0's `routeKey`.
    pub route_key: &'a str,
    pub authorizer: Authorizer<'a>,
    /// The id of the API key the caller used, for methods that require one.
    pub api_key_id: Option<&'a str>,
    pub body: &'a [u8],
    /// The body travels base64-encoded (a binary media type, or not UTF-8).
    pub binary: bool,
}

impl EventInput<'_> {
    /// A capacity that holds the whole event without growing: the body
    /// (a third more when base64), the headers twice (`headers` and
    /// `multiValueHeaders`) and room for the fixed fields. A `Vec` that
    /// starts small is copied several times over on the way.
    pub(crate) fn event_capacity(&self) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 8)
            .sum();
        self.body.len() * 4 / 3 + 2 * headers + 2048
    }
}

/// What the method's authorizer said of the caller, as events carry it.
#[derive(Debug, Default)]
pub enum Authorizer<'a> {
    #[default]
    None,
    /// A JWT authorizer: the token's claims (JSON) and granted scopes.
    Jwt {
        claims: Option<&'a str>,
        scopes: &'a [String],
    },
    /// A custom (Lambda) authorizer: its `principalId` and `context` (JSON).
    Lambda {
        principal_id: Option<&'a str>,
        context: Option<&'a str>,
    },
    /// SigV4 by an IAM principal.
    Iam {
        access_key: &'a str,
        user_arn: &'a str,
        user: Option<&'a str>,
        account_id: &'a str,
    },
}

impl EventInput<'_> {
    /// `/{stage}{path}` as AWS gives `requestContext.path` (and, for
    /// named stages, 2.0's `rawPath`); `$default` adds no segment.
    fn full_path(&self) -> String {
        let path = if self.path.is_empty() { "/" } else { self.path };
        if self.stage == "$default" {
            path.to_owned()
        } else {
            format!("/{}{}", self.stage, path)
        }
    }

    fn path_or_root(&self) -> &str {
        if self.path.is_empty() { "/" } else { self.path }
    }

    /// `requestTime` / `time`: `09/Apr/2015:12:34:56 +0000`.
    fn request_time(&self) -> String {
        let mut out = String::with_capacity(26);
        let _ = super::observe::write_clf_time(&mut out, self.time);
        out
    }

    fn time_epoch_ms(&self) -> u64 {
        self.time
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }

    /// The body as the event's `body` field: None when there is none.
    fn body_text(&self) -> Option<Cow<'_, str>> {
        if self.body.is_empty() {
            return None;
        }
        if self.binary {
            use base64::Engine;
            return Some(
                base64::engine::general_purpose::STANDARD
                    .encode(self.body)
                    .into(),
            );
        }
        Some(String::from_utf8_lossy(self.body))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Whether a body of `content_type` travels base64-encoded: its media type
/// is one of `binary_media_types` (`*/*`, `image/*` as wildcards), or the
/// bytes are not UTF-8 text.
pub fn is_binary(content_type: Option<&str>, binary_media_types: &[Box<str>], body: &[u8]) -> bool {
    if !binary_media_types.is_empty()
        && let Some(ct) = content_type
    {
        let media = crate::media_type::media_type(ct);
        let (kind, _) = media.split_once('/').unwrap_or((media, ""));
        let matches = binary_media_types.iter().any(|t| {
            t.eq_ignore_ascii_case(media)
                || &**t == "*/*"
                || t.strip_suffix("/*")
                    .is_some_and(|k| k.eq_ignore_ascii_case(kind))
        });
        if matches {
            return true;
        }
    }
    std::str::from_utf8(body).is_err()
}

/// The query string parsed once: (name, value) decoded, in order.
pub(super) type Query<'q> = Vec<(Cow<'q, str>, Cow<'q, str>)>;

pub(super) fn parse_query(query: Option<&str>) -> Query<'_> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes()).collect()
}

/// Serializes as a map, or `null` when empty (AWS's shape for the
/// optional maps of 1.0 events).
pub(super) struct OrNull<T>(pub T);

/// A header map as `{name: last value}` (1.0's `headers`).
pub(super) struct LastHeaders<'a>(pub &'a HeaderMap);
/// `{name: [values]}` (1.0's `multiValueHeaders`).
pub(super) struct MultiHeaders<'a>(pub &'a HeaderMap);
/// `{name: "v1,v2"}` without cookies (2.0's `headers`).
pub(super) struct JoinedHeaders<'a>(pub &'a HeaderMap);

impl Serialize for LastHeaders<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.keys_len()))?;
        for name in self.0.keys() {
            if let Some(v) = self
                .0
                .get_all(name)
                .iter()
                .rev()
                .find_map(|v| v.to_str().ok())
            {
                map.serialize_entry(name.as_str(), v)?;
            }
        }
        map.end()
    }
}

impl Serialize for MultiHeaders<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.keys_len()))?;
        for name in self.0.keys() {
            let values: Vec<&str> = self
                .0
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            map.serialize_entry(name.as_str(), &values)?;
        }
        map.end()
    }
}

impl Serialize for JoinedHeaders<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for name in self.0.keys() {
            if name == http::header::COOKIE {
                continue;
            }
            let mut values = self.0.get_all(name).iter().filter_map(|v| v.to_str().ok());
            let Some(first) = values.next() else { continue };
            match values.next() {
                None => map.serialize_entry(name.as_str(), first)?,
                Some(second) => {
                    let mut joined = format!("{first},{second}");
                    for v in values {
                        joined.push(',');
                        joined.push_str(v);
                    }
                    map.serialize_entry(name.as_str(), &joined)?
                }
            }
        }
        map.end()
    }
}

/// `{name: last value}` of a query.
pub(super) struct LastQuery<'a, 'q>(pub &'a Query<'q>);
/// `{name: [values]}` of a query.
pub(super) struct MultiQuery<'a, 'q>(pub &'a Query<'q>);
/// `{name: "v1,v2"}` of a query (2.0).
pub(super) struct JoinedQuery<'a, 'q>(pub &'a Query<'q>);

/// The query's values grouped by name, names in first-seen order: one
/// pass with a map from name to group, so an event costs linear time in
/// the query however many distinct names the request sends (a 64 KiB head
/// holds about 10k), where a scan per name was quadratic.
fn grouped<'a>(q: &'a Query<'_>) -> Vec<(&'a str, Vec<&'a str>)> {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(q.len());
    for (k, v) in q {
        match index.get(k.as_ref()) {
            Some(&i) => groups[i].1.push(v),
            None => {
                index.insert(k, groups.len());
                groups.push((k, vec![v]));
            }
        }
    }
    groups
}

impl Serialize for LastQuery<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let groups = grouped(self.0);
        let mut map = s.serialize_map(Some(groups.len()))?;
        for (name, values) in groups {
            map.serialize_entry(name, &values.last())?;
        }
        map.end()
    }
}

impl Serialize for MultiQuery<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let groups = grouped(self.0);
        let mut map = s.serialize_map(Some(groups.len()))?;
        for (name, values) in groups {
            map.serialize_entry(name, &values)?;
        }
        map.end()
    }
}

impl Serialize for JoinedQuery<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let groups = grouped(self.0);
        let mut map = s.serialize_map(Some(groups.len()))?;
        for (name, values) in groups {
            map.serialize_entry(name, &values.join(","))?;
        }
        map.end()
    }
}

/// Path parameters, percent-decoded.
pub(super) struct PathParams<'a>(pub &'a [(&'a str, &'a str)]);

impl Serialize for PathParams<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0 {
            map.serialize_entry(
                name,
                &percent_encoding::percent_decode_str(value).decode_utf8_lossy(),
            )?;
        }
        map.end()
    }
}

/// Stage variables as a map.
pub(super) struct Variables<'a>(pub &'a HashMap<Box<str>, Box<str>>);

impl Serialize for Variables<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(&**k, &**v)?;
        }
        map.end()
    }
}

/// Something that may be empty.
pub(super) trait Emptiness {
    fn is_empty(&self) -> bool;
}

impl Emptiness for LastHeaders<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
impl Emptiness for MultiHeaders<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
impl Emptiness for LastQuery<'_, '_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
impl Emptiness for MultiQuery<'_, '_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
impl Emptiness for PathParams<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
impl Emptiness for Variables<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T: Serialize + Emptiness> Serialize for OrNull<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_empty() {
            s.serialize_none()
        } else {
            self.0.serialize(s)
        }
    }
}

/// The `Cookie` header split into its cookies (2.0's `cookies`).
pub(super) fn cookies(headers: &HeaderMap) -> Vec<&str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

/// A JSON text from the authorizer, embedded as JSON (`{}` if it is not).
pub(super) struct RawJson<'a>(pub Option<&'a str>);

impl Serialize for RawJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let value: serde_json::Value = self
            .0
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_else(|| serde_json::Value::Object(Default::default()));
        value.serialize(s)
    }
}

/// A list serializer for scopes (`null` when there are none).
pub(super) struct Scopes<'a>(pub &'a [String]);

impl Serialize for Scopes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_empty() {
            return s.serialize_none();
        }
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for scope in self.0 {
            seq.serialize_element(scope)?;
        }
        seq.end()
    }
}

#[cfg(test)]
pub(crate) mod tests;
