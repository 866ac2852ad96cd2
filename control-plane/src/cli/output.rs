//! How `archwayctl get` prints: a table for people, or YAML or JSON for
//! scripts (`-o yaml|json`).
//!
//! JSON and YAML are built from the messages' descriptors
//! ([`crate::descriptors`]), so every field of a resource is printed,
//! including fields added later, with three rules applied once here:
//! enum values by name, times (`*_at_ms`, `last_seen_ms`) as RFC 3339 under
//! the name without `_ms` (`created_at: 2026-12-01T21:30:05.123Z`), and
//! secrets and hashes (`value_hash`, `session_token_hash`, `sealed_secret`,
//! `secret_access_key`, an API key's `value`) never printed. Tables show
//! times as `2026-12-01 21:30:05Z` (UTC, to the second).

use prost::Message;
use prost_reflect::{DynamicMessage, Kind, MapKey, ReflectMessage, Value};
use serde_json::{Map, Value as Json};

/// What `-o` chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Table,
    Yaml,
    Json,
}

/// Fields never printed, whatever the server sends.
const SECRET_FIELDS: &[&str] = &[
    "value_hash",
    "session_token_hash",
    "sealed_secret",
    "secret_access_key",
];

/// `msg` (of type `archway.v1.{type_name}`) as JSON, by the rules above.
pub fn json(msg: &impl Message, type_name: &str) -> Json {
    dynamic_json(&crate::descriptors::to_dynamic(msg, type_name))
}

/// Each of `items` as [`json`].
pub fn json_list<M: Message>(items: &[M], type_name: &str) -> Json {
    Json::Array(items.iter().map(|m| json(m, type_name)).collect())
}

fn dynamic_json(msg: &DynamicMessage) -> Json {
    let descriptor = msg.descriptor();
    let mut out = Map::new();
    for field in descriptor.fields() {
        let name = field.name();
        if SECRET_FIELDS.contains(&name) || (descriptor.name() == "ApiKey" && name == "value") {
            continue;
        }
        // Absent messages and optional fields stay out; plain scalars,
        // lists and maps are printed even when empty.
        if field.supports_presence() && !msg.has_field(&field) {
            continue;
        }
        let value = msg.get_field(&field);
        if let Some(time_name) = time_field(name) {
            let ms = value.as_i64().unwrap_or_default();
            let time = if ms == 0 {
                Json::Null
            } else {
                Json::String(rfc3339(ms))
            };
            out.insert(time_name.to_owned(), time);
            continue;
        }
        out.insert(name.to_owned(), value_json(&value, &field.kind()));
    }
    Json::Object(out)
}

fn value_json(value: &Value, kind: &Kind) -> Json {
    match value {
        Value::Bool(b) => Json::Bool(*b),
        Value::I32(n) => Json::from(*n),
        Value::I64(n) => Json::from(*n),
        Value::U32(n) => Json::from(*n),
        Value::U64(n) => Json::from(*n),
        Value::F32(n) => Json::from(f64::from(*n)),
        Value::F64(n) => Json::from(*n),
        Value::String(s) => Json::String(s.clone()),
        Value::Bytes(b) => Json::String(b.iter().map(|x| format!("{x:02x}")).collect()),
        Value::EnumNumber(n) => match kind {
            Kind::Enum(e) => e
                .get_value(*n)
                .map_or(Json::from(*n), |v| Json::String(v.name().to_owned())),
            _ => Json::from(*n),
        },
        Value::Message(m) => dynamic_json(m),
        Value::List(items) => Json::Array(items.iter().map(|v| value_json(v, kind)).collect()),
        Value::Map(map) => {
            let value_kind = match kind {
                Kind::Message(entry) => entry.map_entry_value_field().kind(),
                other => other.clone(),
            };
            let mut out = Map::new();
            for (k, v) in map {
                let key = match k {
                    MapKey::String(s) => s.clone(),
                    MapKey::Bool(b) => b.to_string(),
                    MapKey::I32(n) => n.to_string(),
                    MapKey::I64(n) => n.to_string(),
                    MapKey::U32(n) => n.to_string(),
                    MapKey::U64(n) => n.to_string(),
                };
                out.insert(key, value_json(v, &value_kind));
            }
            Json::Object(out)
        }
    }
}

/// `created_at` for `created_at_ms` (and the like): fields that hold a
/// time in milliseconds since the epoch, not a duration.
fn time_field(name: &str) -> Option<&str> {
    if name.ends_with("_at_ms") || name == "last_seen_ms" {
        name.strip_suffix("_ms")
    } else {
        None
    }
}

/// `2026-12-01T21:30:05.123Z`.
pub fn rfc3339(ms: i64) -> String {
    let (date, h, m, s) = civil(ms);
    format!("{date}T{h:02}:{m:02}:{s:02}.{:03}Z", ms.rem_euclid(1000))
}

/// `2026-12-01 21:30:05Z`, or `-` for none (0).
pub fn table_time(ms: i64) -> String {
    if ms == 0 {
        return "-".into();
    }
    let (date, h, m, s) = civil(ms);
    format!("{date} {h:02}:{m:02}:{s:02}Z")
}

fn civil(ms: i64) -> (String, i64, i64, i64) {
    let day = archway_proto::quota::day_of(ms);
    let secs = ms.div_euclid(1000).rem_euclid(86_400);
    (
        archway_proto::quota::date_string(day),
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
    )
}

/// A table: a header line and rows, columns as wide as their widest cell.
#[derive(Debug, Default)]
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&'static str]) -> Self {
        Self {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.len()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: Vec<&str>| {
            let mut out = String::new();
            for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
                if i + 1 == cells.len() {
                    out.push_str(cell);
                } else {
                    out.push_str(&format!("{cell:<w$}  "));
                }
            }
            out.trim_end().to_owned()
        };
        let mut out = line(self.headers.clone());
        out.push('\n');
        for row in &self.rows {
            out.push_str(&line(row.iter().map(String::as_str).collect()));
            out.push('\n');
        }
        out
    }
}

/// Prints `value` as YAML or JSON, or the table `table` makes.
pub fn print(
    format: Format,
    value: impl FnOnce() -> Json,
    table: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    match format {
        Format::Table => print!("{}", table()),
        Format::Json => println!("{}", serde_json::to_string_pretty(&value())?),
        Format::Yaml => print!("{}", serde_saphyr::to_string(&value())?),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use archway_proto::v1::{AccessKey, ApiKey, Stage};

    #[test]
    fn times_are_rfc3339_and_readable() {
        // 2026-12-01T21:30:05.123Z
        let ms = 1_796_160_605_123;
        assert_eq!(rfc3339(ms), "2026-12-01T21:30:05.123Z");
        assert_eq!(table_time(ms), "2026-12-01 21:30:05Z");
        assert_eq!(table_time(0), "-");
    }

    #[test]
    fn json_names_enums_converts_times_and_hides_secrets() {
        let key = ApiKey {
            id: "k1".into(),
            value: "the-value".into(),
            value_hash: vec![1, 2],
            created_at_ms: 1_796_160_605_123,
            enabled: false,
            ..Default::default()
        };
        let j = json(&key, "ApiKey");
        assert_eq!(j["created_at"], "2026-12-01T21:30:05.123Z");
        assert!(j.get("created_at_ms").is_none());
        assert!(j.get("value_hash").is_none() && j.get("value").is_none());
        assert_eq!(j["enabled"], false);
        let access = AccessKey {
            secret_access_key: "s".into(),
            session_token_hash: vec![3],
            sealed_secret: vec![4],
            ..Default::default()
        };
        let j = json(&access, "AccessKey");
        for secret in SECRET_FIELDS {
            assert!(j.get(*secret).is_none(), "{secret}");
        }
        assert_eq!(j["expires_at"], Json::Null);
        let stage = Stage {
            variables: [("host".to_string(), "h".to_string())].into(),
            cache_ttl_seconds: Some(0),
            ..Default::default()
        };
        let j = json(&stage, "Stage");
        assert_eq!(j["variables"]["host"], "h");
        assert_eq!(j["cache_ttl_seconds"], 0);
        assert!(j.get("canary").is_none());
    }

    #[test]
    fn tables_align_columns() {
        let mut t = Table::new(&["ID", "NAME"]);
        t.row(vec!["a".into(), "first".into()]);
        t.row(vec!["longer".into(), "x".into()]);
        assert_eq!(t.render(), "ID      NAME\na       first\nlonger  x\n");
    }
}
