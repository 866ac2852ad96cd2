//! Update calls change only what the caller sent (Google AIP-134), written
//! once for every Update* handler.
//!
//! With an `update_mask`, exactly the named paths are replaced with the
//! request's values (a named field left empty is cleared); without one,
//! only the fields the request populates change, so a client that does not
//! know a field (or leaves `enabled` false on a rename) never clears or
//! disables it by omission. Works field by field on the messages'
//! descriptors ([`crate::descriptors`]), so the rule is the same for every
//! resource and follows the .proto files; handlers only say which fields
//! may change ([`Updatable`]) and validate the merged record as before.

use crate::descriptors;
use crate::error::{ApiError, ApiResult};
use prost::Message;
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, ReflectMessage, Value};
use prost_types::FieldMask;

/// A field an update call never changes, and why.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Fixed {
    /// Names the record, or changing it would break what depends on it (a
    /// method's authorization type matches its authorizer's type). Naming
    /// it in a mask, or sending another value without one, is refused.
    Immutable(&'static str),
    /// Kept by the control plane (times, counters, computed names). Naming
    /// it in a mask is refused; without a mask the request's value is
    /// ignored, so a client may send back a record as it read it.
    OutputOnly(&'static str),
}

/// What one Update* call may change.
#[derive(Debug)]
pub(crate) struct Updatable {
    /// The request's message type in `archway.v1` (the whole request for
    /// flat requests, the resource for those carrying one).
    pub request: &'static str,
    /// The stored resource's message type.
    pub resource: &'static str,
    /// Top-level fields that may change; message fields also by nested
    /// path (`canary.percent_traffic`).
    pub fields: &'static [&'static str],
    pub fixed: &'static [(&'static str, Fixed)],
}

/// `stored` with the fields of `request` that `mask` names (or, without a
/// mask, that `request` populates) replacing its own. Refuses an unknown or
/// fixed path, and a request without a mask that changes nothing, with
/// InvalidArgument naming `update_mask`.
pub(crate) fn merge<S: Message + Default>(
    stored: &S,
    request: &impl Message,
    mask: Option<&FieldMask>,
    rules: &Updatable,
) -> ApiResult<S> {
    let mut target = descriptors::to_dynamic(stored, rules.resource);
    let source = descriptors::to_dynamic(request, rules.request);
    let paths: Vec<&str> = mask
        .map(|m| m.paths.iter().map(String::as_str).collect())
        .unwrap_or_default();
    if paths.is_empty() {
        merge_populated_top(&mut target, &source, rules)?;
    } else {
        for (i, path) in paths.iter().enumerate() {
            let field = || format!("update_mask.paths[{i}]");
            if *path == "*" {
                for name in rules.fields {
                    replace(&mut target, &source, &[name])
                        .map_err(|reason| ApiError::invalid(field(), reason))?;
                }
                continue;
            }
            let parts: Vec<&str> = path.split('.').collect();
            check_top(parts[0], rules).map_err(|reason| ApiError::invalid(field(), reason))?;
            replace(&mut target, &source, &parts)
                .map_err(|reason| ApiError::invalid(field(), format!("'{path}': {reason}")))?;
        }
    }
    Ok(descriptors::from_dynamic(&target))
}

/// Whether a mask may name the top-level field `name`.
fn check_top(name: &str, rules: &Updatable) -> Result<(), String> {
    if rules.fields.contains(&name) {
        return Ok(());
    }
    match rules.fixed.iter().find(|(f, _)| *f == name) {
        Some((_, Fixed::Immutable(why) | Fixed::OutputOnly(why))) => {
            Err(format!("'{name}' cannot be changed: {why}"))
        }
        None => Err(format!(
            "'{name}' is not a field of {} that can be updated; fields: {}",
            rules.resource,
            rules.fields.join(", ")
        )),
    }
}

fn field_of(msg: &DynamicMessage, name: &str) -> Result<FieldDescriptor, String> {
    msg.descriptor()
        .get_field_by_name(name)
        .ok_or_else(|| format!("no field '{name}' in {}", msg.descriptor().name()))
}

/// Sets the field at `parts` in `target` to its value in `source`
/// (cleared when `source` does not have it), creating the messages along
/// the way.
fn replace(
    target: &mut DynamicMessage,
    source: &DynamicMessage,
    parts: &[&str],
) -> Result<(), String> {
    let (name, rest) = parts.split_first().expect("a path has a first part");
    let tf = field_of(target, name)?;
    let sf = field_of(source, name)?;
    if rest.is_empty() {
        if source.has_field(&sf) {
            target.set_field(&tf, source.get_field(&sf).into_owned());
        } else {
            target.clear_field(&tf);
        }
        return Ok(());
    }
    if tf.is_list() || tf.is_map() || !matches!(tf.kind(), Kind::Message(_)) {
        return Err(format!(
            "'{name}' has no fields of its own to name; name '{name}' to replace it whole"
        ));
    }
    let source_sub = match source.get_field(&sf).into_owned() {
        Value::Message(m) => m,
        _ => unreachable!("a message field holds a message"),
    };
    match target.get_field_mut(&tf) {
        Value::Message(target_sub) => replace(target_sub, &source_sub, rest),
        _ => unreachable!("a message field holds a message"),
    }
}

/// Without a mask: every updatable field the request populates, refusing a
/// different value for an immutable field and a request that changes
/// nothing.
fn merge_populated_top(
    target: &mut DynamicMessage,
    source: &DynamicMessage,
    rules: &Updatable,
) -> ApiResult<()> {
    for (name, fixed) in rules.fixed {
        let Fixed::Immutable(why) = fixed else {
            continue;
        };
        let (Ok(sf), Ok(tf)) = (field_of(source, name), field_of(target, name)) else {
            continue;
        };
        if source.has_field(&sf) && source.get_field(&sf) != target.get_field(&tf) {
            return Err(ApiError::invalid(
                *name,
                format!("cannot be changed: {why}"),
            ));
        }
    }
    let mut changed = false;
    for name in rules.fields {
        let sf = field_of(source, name).map_err(|r| ApiError::invalid("update_mask", r))?;
        if source.has_field(&sf) {
            let tf = field_of(target, name).map_err(|r| ApiError::invalid("update_mask", r))?;
            merge_populated(target, &tf, source.get_field(&sf).into_owned());
            changed = true;
        }
    }
    if !changed {
        return Err(ApiError::invalid(
            "update_mask",
            format!(
                "the request sets none of {}; to set a field to false, 0 or empty, name it in update_mask",
                rules.fields.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Sets `field` of `target` to `value`, merging a message field by field
/// (only its populated fields) and replacing lists, maps and scalars.
fn merge_populated(target: &mut DynamicMessage, field: &FieldDescriptor, value: Value) {
    let is_message =
        !field.is_list() && !field.is_map() && matches!(field.kind(), Kind::Message(_));
    match value {
        Value::Message(source) if is_message => {
            let Value::Message(target_sub) = target.get_field_mut(field) else {
                unreachable!("a message field holds a message")
            };
            for sf in source.descriptor().fields() {
                if source.has_field(&sf) {
                    merge_populated(target_sub, &sf, source.get_field(&sf).into_owned());
                }
            }
        }
        value => target.set_field(field, value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use archway_proto::v1::{ApiKey, CanarySettings, Stage, UpdateApiKeyRequest};

    const STAGE: Updatable = Updatable {
        request: "Stage",
        resource: "Stage",
        fields: &[
            "deployment_id",
            "description",
            "variables",
            "canary",
            "cache_ttl_seconds",
        ],
        fixed: &[
            ("stage_name", Fixed::Immutable("names the stage")),
            (
                "created_at_ms",
                Fixed::OutputOnly("set by the control plane"),
            ),
        ],
    };

    const KEY: Updatable = Updatable {
        request: "UpdateApiKeyRequest",
        resource: "ApiKey",
        fields: &["name", "description", "enabled"],
        fixed: &[("key_id", Fixed::Immutable("names the key"))],
    };

    fn mask(paths: &[&str]) -> FieldMask {
        FieldMask {
            paths: paths.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn stored_stage() -> Stage {
        Stage {
            api_id: "a".into(),
            stage_name: "prod".into(),
            deployment_id: "d1".into(),
            description: "live".into(),
            variables: [("host".to_string(), "h1".to_string())].into(),
            canary: Some(CanarySettings {
                deployment_id: "d2".into(),
                percent_traffic: 10.0,
                ..Default::default()
            }),
            cache_ttl_seconds: Some(60),
            created_at_ms: 5,
            ..Default::default()
        }
    }

    #[test]
    fn without_a_mask_only_populated_fields_change() {
        let request = Stage {
            stage_name: "prod".into(),
            variables: [("host".to_string(), "h2".to_string())].into(),
            // Output only: ignored, not refused.
            created_at_ms: 99,
            ..Default::default()
        };
        let merged = merge(&stored_stage(), &request, None, &STAGE).unwrap();
        assert_eq!(merged.variables["host"], "h2");
        assert_eq!(merged.deployment_id, "d1");
        assert_eq!(merged.description, "live");
        assert_eq!(merged.canary.as_ref().unwrap().percent_traffic, 10.0);
        assert_eq!(merged.cache_ttl_seconds, Some(60));
        assert_eq!(merged.created_at_ms, 5);
    }

    #[test]
    fn without_a_mask_messages_merge_field_by_field() {
        let request = Stage {
            canary: Some(CanarySettings {
                percent_traffic: 25.0,
                ..Default::default()
            }),
            ..Default::default()
        };
        let merged = merge(&stored_stage(), &request, None, &STAGE).unwrap();
        let canary = merged.canary.unwrap();
        assert_eq!(
            (canary.deployment_id.as_str(), canary.percent_traffic),
            ("d2", 25.0)
        );
    }

    #[test]
    fn a_rename_without_a_mask_keeps_the_key_enabled() {
        let stored = ApiKey {
            id: "k".into(),
            name: "old".into(),
            description: "kept".into(),
            enabled: true,
            ..Default::default()
        };
        let request = UpdateApiKeyRequest {
            key_id: "k".into(),
            name: "new".into(),
            ..Default::default()
        };
        let merged = merge(&stored, &request, None, &KEY).unwrap();
        assert_eq!((merged.name.as_str(), merged.enabled), ("new", true));
        assert_eq!(merged.description, "kept");
        // Disabling needs the field set (optional) or named in the mask.
        let disable = UpdateApiKeyRequest {
            key_id: "k".into(),
            enabled: Some(false),
            ..Default::default()
        };
        assert!(!merge(&stored, &disable, None, &KEY).unwrap().enabled);
        let masked = UpdateApiKeyRequest {
            key_id: "k".into(),
            update_mask: Some(mask(&["enabled"])),
            ..Default::default()
        };
        let merged = merge(&stored, &masked, masked.update_mask.as_ref(), &KEY).unwrap();
        assert!(!merged.enabled);
        assert_eq!(merged.name, "old");
    }

    #[test]
    fn a_named_empty_field_is_cleared_and_others_stay() {
        let request = Stage::default();
        let m = mask(&["description", "canary", "cache_ttl_seconds"]);
        let merged = merge(&stored_stage(), &request, Some(&m), &STAGE).unwrap();
        assert_eq!(merged.description, "");
        assert!(merged.canary.is_none());
        assert_eq!(merged.cache_ttl_seconds, None);
        assert_eq!(merged.deployment_id, "d1");
        assert_eq!(merged.variables["host"], "h1");
    }

    #[test]
    fn nested_paths_replace_one_field_of_a_message() {
        let request = Stage {
            canary: Some(CanarySettings {
                deployment_id: "ignored".into(),
                percent_traffic: 50.0,
                ..Default::default()
            }),
            ..Default::default()
        };
        let m = mask(&["canary.percent_traffic"]);
        let canary = merge(&stored_stage(), &request, Some(&m), &STAGE)
            .unwrap()
            .canary
            .unwrap();
        assert_eq!(
            (canary.deployment_id.as_str(), canary.percent_traffic),
            ("d2", 50.0)
        );
    }

    #[test]
    fn unknown_fixed_and_unnestable_paths_are_refused_with_the_path() {
        let cases = [
            (
                "cannary",
                "update_mask.paths[0]: 'cannary' is not a field of Stage",
            ),
            (
                "stage_name",
                "update_mask.paths[0]: 'stage_name' cannot be changed: names the stage",
            ),
            (
                "created_at_ms",
                "cannot be changed: set by the control plane",
            ),
            (
                "canary.nope",
                "'canary.nope': no field 'nope' in CanarySettings",
            ),
            ("variables.host", "'variables' has no fields of its own"),
            ("description.x", "'description' has no fields of its own"),
        ];
        for (path, expected) in cases {
            let err = merge(
                &stored_stage(),
                &Stage::default(),
                Some(&mask(&[path])),
                &STAGE,
            )
            .unwrap_err();
            assert!(matches!(err, ApiError::InvalidArgument { .. }), "{path}");
            assert!(err.to_string().contains(expected), "{path}: {err}");
        }
    }

    #[test]
    fn an_immutable_field_sent_with_another_value_is_refused() {
        let request = Stage {
            stage_name: "other".into(),
            description: "x".into(),
            ..Default::default()
        };
        let err = merge(&stored_stage(), &request, None, &STAGE).unwrap_err();
        assert_eq!(
            err.to_string(),
            "stage_name: cannot be changed: names the stage"
        );
    }

    #[test]
    fn a_request_that_sets_nothing_is_refused_not_ignored() {
        let request = UpdateApiKeyRequest {
            key_id: "k".into(),
            ..Default::default()
        };
        let err = merge(&ApiKey::default(), &request, None, &KEY).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("update_mask: the request sets none of name, description, enabled"),
            "{err}"
        );
    }

    #[test]
    fn a_star_mask_replaces_every_updatable_field() {
        let request = Stage {
            deployment_id: "d3".into(),
            ..Default::default()
        };
        let merged = merge(&stored_stage(), &request, Some(&mask(&["*"])), &STAGE).unwrap();
        assert_eq!(merged.deployment_id, "d3");
        assert!(merged.variables.is_empty() && merged.canary.is_none());
        assert_eq!(
            (merged.stage_name.as_str(), merged.created_at_ms),
            ("prod", 5)
        );
    }
}
