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
use serde_json::value::RawValue;
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

/// `/{stage}{path}` (see [`EventInput::full_path`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct FullPath<'a> {
    /// None: the `$default` stage, which adds no segment.
    stage: Option<&'a str>,
    path: &'a str,
}

impl std::fmt::Display for FullPath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(stage) = self.stage {
            f.write_str("/")?;
            f.write_str(stage)?;
        }
        f.write_str(self.path)
    }
}

impl Serialize for FullPath<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
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
    /// named stages, 2.0's `rawPath`); `$default` adds no segment. Written
    /// into the event as it is serialized, not built first.
    fn full_path(&self) -> FullPath<'_> {
        FullPath {
            stage: (self.stage != "$default").then_some(self.stage),
            path: self.path_or_root(),
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
        // Not binary: UTF-8 already (see `is_binary`), so a plain check
        // suffices; the lossy reading is only a fallback.
        Some(match std::str::from_utf8(self.body) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(self.body),
        })
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

/// The query string parsed once and grouped by name: names in first-seen
/// order, each with its values in order. Every event form reads it this
/// way (`queryStringParameters` takes a name's last value, the
/// multi-value form all of them, 2.0 joins them), so it is grouped once
/// per event rather than once per field.
#[derive(Debug, Default)]
pub(super) struct Query<'q> {
    /// Each name and the range of its values in `values`.
    groups: Vec<(Cow<'q, str>, std::ops::Range<usize>)>,
    values: Vec<Cow<'q, str>>,
}

/// Names a query may have before they are looked up through a map rather
/// than a scan: a typical query has a handful, a hostile 64 KiB one about
/// 10k, which a scan per name would make quadratic.
const SCANNED_NAMES: usize = 16;

impl<'q> Query<'q> {
    pub(super) fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Each name with its values.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&str, &[Cow<'q, str>])> {
        self.groups
            .iter()
            .map(|(name, range)| (&**name, &self.values[range.clone()]))
    }
}

pub(super) fn parse_query(query: Option<&str>) -> Query<'_> {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return Query::default();
    };
    let mut names: Vec<Cow<'_, str>> = Vec::new();
    let mut index: HashMap<Cow<'_, str>, usize> = HashMap::new();
    // Per value: its name's number, and the value.
    let mut pairs: Vec<(usize, Cow<'_, str>)> = Vec::new();
    let mut repeated = false;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        let found = if names.len() <= SCANNED_NAMES {
            names.iter().position(|n| *n == name)
        } else {
            if index.is_empty() {
                index.extend(names.iter().cloned().zip(0..));
            }
            index.get(&name).copied()
        };
        let group = match found {
            Some(group) => {
                repeated = true;
                group
            }
            None => {
                if names.len() > SCANNED_NAMES {
                    index.insert(name.clone(), names.len());
                }
                names.push(name);
                names.len() - 1
            }
        };
        pairs.push((group, value));
    }
    if repeated {
        // Stable: a name's values keep their order.
        pairs.sort_by_key(|(group, _)| *group);
    }
    let mut groups = Vec::with_capacity(names.len());
    let mut start = 0;
    for (group, name) in names.into_iter().enumerate() {
        let end = start
            + pairs[start..]
                .iter()
                .take_while(|(g, _)| *g == group)
                .count();
        groups.push((name, start..end));
        start = end;
    }
    Query {
        groups,
        values: pairs.into_iter().map(|(_, v)| v).collect(),
    }
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
    /// One walk over the map, whose iterator yields a name's values one
    /// after another: each name's last text value, with no lookup by name.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.keys_len()))?;
        let mut pending: Option<(&http::HeaderName, Option<&str>)> = None;
        for (name, value) in self.0 {
            match &mut pending {
                Some((current, last)) if *current == name => {
                    if let Ok(v) = value.to_str() {
                        *last = Some(v);
                    }
                }
                _ => {
                    if let Some((n, Some(v))) = pending {
                        map.serialize_entry(n.as_str(), v)?;
                    }
                    pending = Some((name, value.to_str().ok()));
                }
            }
        }
        if let Some((n, Some(v))) = pending {
            map.serialize_entry(n.as_str(), v)?;
        }
        map.end()
    }
}

impl Serialize for MultiHeaders<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.keys_len()))?;
        for name in self.0.keys() {
            map.serialize_entry(name.as_str(), &AllValues(self.0.get_all(name)))?;
        }
        map.end()
    }
}

/// One header's text values as a list, written as they are read.
struct AllValues<'a>(http::header::GetAll<'a, http::HeaderValue>);

impl Serialize for AllValues<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for v in self.0.iter().filter_map(|v| v.to_str().ok()) {
            seq.serialize_element(v)?;
        }
        seq.end()
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

impl Serialize for LastQuery<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.groups.len()))?;
        for (name, values) in self.0.iter() {
            map.serialize_entry(name, &values.last())?;
        }
        map.end()
    }
}

impl Serialize for MultiQuery<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.groups.len()))?;
        for (name, values) in self.0.iter() {
            map.serialize_entry(name, values)?;
        }
        map.end()
    }
}

impl Serialize for JoinedQuery<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.groups.len()))?;
        for (name, values) in self.0.iter() {
            match values {
                [one] => map.serialize_entry(name, one)?,
                many => map.serialize_entry(name, &many.join(","))?,
            }
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
    /// Embedded as it is when it is a JSON object (checked by a parse that
    /// builds nothing), rather than rebuilt from a tree of values.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let object = self.0.filter(|text| text.trim_start().starts_with('{'));
        match object.and_then(|text| serde_json::from_str::<&RawValue>(text).ok()) {
            Some(raw) => raw.serialize(s),
            None => s.serialize_map(Some(0))?.end(),
        }
    }
}

/// A JSON object's members, each value as its own JSON text: what an
/// authorizer's context becomes when its keys sit beside others (1.0's
/// `requestContext.authorizer`), without building a tree of values.
/// None when it is not an object, or has a key with escapes (which cannot
/// be borrowed; the caller then reads it as a tree).
pub(crate) fn object_members(text: &str) -> Option<Vec<(&str, &RawValue)>> {
    struct Members<'a>(Vec<(&'a str, &'a RawValue)>);
    impl<'de> serde::Deserialize<'de> for Members<'de> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Visit;
            impl<'de> serde::de::Visitor<'de> for Visit {
                type Value = Members<'de>;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Self::Value, A::Error> {
                    let mut members = Vec::with_capacity(map.size_hint().unwrap_or(4));
                    while let Some(entry) = map.next_entry::<&'de str, &'de RawValue>()? {
                        members.push(entry);
                    }
                    Ok(Members(members))
                }
            }
            d.deserialize_map(Visit)
        }
    }
    serde_json::from_str::<Members<'_>>(text).ok().map(|m| m.0)
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
