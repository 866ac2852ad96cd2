//! Names of the resources that travel to the data plane. A name identifies a
//! resource across versions, so a delta can replace or remove it.

pub fn api(api_id: &str) -> String {
    format!("api/{api_id}")
}

pub fn stage(api_id: &str, stage_name: &str) -> String {
    format!("stage/{api_id}/{stage_name}")
}

pub fn deployment(api_id: &str, deployment_id: &str) -> String {
    format!("deployment/{api_id}/{deployment_id}")
}

pub fn api_key(key_id: &str) -> String {
    format!("apikey/{key_id}")
}

pub fn usage_plan(plan_id: &str) -> String {
    format!("usageplan/{plan_id}")
}

pub fn principal(name: &str) -> String {
    format!("principal/{name}")
}

pub fn access_key(access_key_id: &str) -> String {
    format!("accesskey/{access_key_id}")
}

/// AWS credentials nodes sign outbound calls with, by name.
pub fn outbound_credential(name: &str) -> String {
    format!("outboundcredential/{name}")
}

/// Fleet-wide node settings (one resource).
pub const SETTINGS: &str = "settings";

/// True for resources published one by one (keys, plans, IAM principals
/// and access keys) rather than rebuilt from the store on every change:
/// there may be millions of keys.
pub fn is_published_individually(name: &str) -> bool {
    [
        "apikey/",
        "usageplan/",
        "principal/",
        "accesskey/",
        "outboundcredential/",
    ]
    .iter()
    .any(|prefix| name.starts_with(prefix))
}
