//! Stages: their names, variables, canary, access log and throttles.

use super::names::{max_len, stage_name};
use super::throttle::method_throttle;
use super::{Checked, Violation, sub};
use crate::access_log;
use crate::v1::{AccessLogSettings, ApiProtocol, CanarySettings, Stage};
use std::collections::BTreeMap;

/// Stage variables as AWS allows them: names of letters, digits and '_',
/// values of at most 512 characters from `A-Za-z0-9-._~:/?#&=,`. The narrow
/// value alphabet keeps variables safe to place in URIs and headers.
pub fn stage_variables(field: &str, variables: &BTreeMap<String, String>) -> Checked {
    for (name, value) in variables {
        if name.is_empty()
            || name.len() > 64
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(Violation::new(
                field,
                format!("variable name '{name}' must be 1 to 64 letters, digits or '_'"),
            ));
        }
        if value.len() > 512 {
            return Err(Violation::new(
                sub(field, name),
                "must be at most 512 characters",
            ));
        }
        if let Some(bad) = value
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "-._~:/?#&=,".contains(*c)))
        {
            return Err(Violation::new(
                sub(field, name),
                format!("has '{bad}'; values take letters, digits and -._~:/?#&=,"),
            ));
        }
    }
    Ok(())
}

/// An empty format turns access logging off; otherwise the format must parse
/// and the destination must be one a node can write to.
pub fn access_log_settings(field: &str, settings: &AccessLogSettings) -> Checked {
    if settings.format.is_empty() {
        if settings.destination.is_empty() {
            return Ok(());
        }
        return Err(Violation::new(
            sub(field, "format"),
            "is required to log to a destination: JSON, CLF or a $context template",
        ));
    }
    max_len(&sub(field, "format"), &settings.format, 4096)?;
    access_log::Template::parse(&settings.format)
        .map_err(|reason| Violation::new(sub(field, "format"), reason))?;
    access_log::Destination::parse(&settings.destination)
        .map_err(|reason| Violation::new(sub(field, "destination"), reason))?;
    Ok(())
}

pub fn canary(field: &str, canary: &CanarySettings) -> Checked {
    let pct = canary.percent_traffic;
    if !pct.is_finite() || !(0.0..=100.0).contains(&pct) {
        return Err(Violation::new(
            sub(field, "percent_traffic"),
            format!("must be between 0.0 and 100.0, got {pct}"),
        ));
    }
    if canary.deployment_id.is_empty() {
        return Err(Violation::new(
            sub(field, "deployment_id"),
            "a canary needs the deployment it sends traffic to",
        ));
    }
    stage_variables(
        &sub(field, "stage_variable_overrides"),
        &canary.stage_variable_overrides,
    )
}

/// A stage's own settings, reported under `stage`, for a stage of an API
/// of `protocol` (a WEBSOCKET API's stage throttles routes by key and has
/// neither cache nor canary: [`super::websocket::stage`]). Whether the
/// deployments it names exist is each plane's to check: the control plane
/// in its store, a node among what it received.
pub fn stage(stage: &Stage, protocol: ApiProtocol) -> Checked {
    stage_name("stage.stage_name", &stage.stage_name)?;
    max_len("stage.description", &stage.description, 4096)?;
    stage_variables("stage.variables", &stage.variables)?;
    if protocol == ApiProtocol::Websocket {
        super::websocket::stage(stage, protocol)?;
    } else {
        for (i, m) in stage.method_settings.iter().enumerate() {
            method_throttle(&format!("stage.method_settings[{i}]"), m)?;
        }
    }
    if let Some(settings) = &stage.access_log_settings {
        access_log_settings("stage.access_log_settings", settings)?;
    }
    if let Some(c) = &stage.canary {
        canary("stage.canary", c)?;
    }
    super::stage_cache::stage("stage", stage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_variables_are_restricted() {
        let ok = BTreeMap::from([("backend".to_string(), "127.0.0.1:8080".to_string())]);
        assert!(stage_variables("v", &ok).is_ok());
        let bad = BTreeMap::from([("x".to_string(), "a b".to_string())]);
        assert_eq!(stage_variables("v", &bad).unwrap_err().field, "v.x");
        let bad_name = BTreeMap::from([("a-b".to_string(), "x".to_string())]);
        assert_eq!(stage_variables("v", &bad_name).unwrap_err().field, "v");
    }

    #[test]
    fn access_log_settings_name_the_bad_part() {
        let ok = AccessLogSettings {
            format: "JSON".into(),
            destination: "stdout".into(),
        };
        assert!(access_log_settings("s", &ok).is_ok());
        assert!(access_log_settings("s", &AccessLogSettings::default()).is_ok());
        let bad_var = AccessLogSettings {
            format: "$context.nope".into(),
            ..ok.clone()
        };
        assert_eq!(
            access_log_settings("s", &bad_var).unwrap_err().field,
            "s.format"
        );
        let bad_dest = AccessLogSettings {
            destination: "file:rel.log".into(),
            ..ok
        };
        assert_eq!(
            access_log_settings("s", &bad_dest).unwrap_err().field,
            "s.destination"
        );
    }

    #[test]
    fn canary_percent_is_bounded() {
        for pct in [100.5, -1.0, f64::NAN] {
            let c = CanarySettings {
                deployment_id: "d".into(),
                percent_traffic: pct,
                ..Default::default()
            };
            assert_eq!(
                canary("stage.canary", &c).unwrap_err().field,
                "stage.canary.percent_traffic"
            );
        }
    }

    #[test]
    fn a_stage_reports_its_first_bad_setting() {
        let mut s = Stage {
            stage_name: "prod".into(),
            ..Default::default()
        };
        let rest = ApiProtocol::Rest;
        assert!(stage(&s, rest).is_ok());
        s.canary = Some(CanarySettings::default());
        assert_eq!(
            stage(&s, rest).unwrap_err().field,
            "stage.canary.deployment_id"
        );
        s.stage_name = "pr od".into();
        assert_eq!(stage(&s, rest).unwrap_err().field, "stage.stage_name");
    }
}
