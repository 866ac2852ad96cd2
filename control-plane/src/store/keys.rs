//! Key layout of the store. Ids never contain '/', so prefixes are exact.

pub const APIS: &str = "api/";
pub const STAGES: &str = "stage/";

pub fn api(api_id: &str) -> String {
    format!("api/{api_id}")
}

pub fn resource(api_id: &str, resource_id: &str) -> String {
    format!("res/{api_id}/{resource_id}")
}

pub fn resources(api_id: &str) -> String {
    format!("res/{api_id}/")
}

pub fn method(api_id: &str, resource_id: &str, http_method: &str) -> String {
    format!("meth/{api_id}/{resource_id}/{http_method}")
}

pub fn methods_of_api(api_id: &str) -> String {
    format!("meth/{api_id}/")
}

pub fn methods_of_resource(api_id: &str, resource_id: &str) -> String {
    format!("meth/{api_id}/{resource_id}/")
}

pub fn deployment(api_id: &str, deployment_id: &str) -> String {
    format!("dep/{api_id}/{deployment_id}")
}

pub fn deployments(api_id: &str) -> String {
    format!("dep/{api_id}/")
}

pub fn stage(api_id: &str, stage_name: &str) -> String {
    format!("stage/{api_id}/{stage_name}")
}

pub fn stages(api_id: &str) -> String {
    format!("stage/{api_id}/")
}

pub const API_KEYS: &str = "key/";
pub const USAGE_PLANS: &str = "plan/";
pub const API_KEY_SECRET: &str = "meta/api_key_secret";
/// The fleet's region and account id, as ARNs and SigV4 scopes name them.
pub const REGION: &str = "meta/region";
pub const ACCOUNT_ID: &str = "meta/account_id";
/// A value sealed under the master key, to check every replica has the same.
pub const MASTER_KEY_PROBE: &str = "meta/master_key_probe";
pub const QUOTA_RESETS: &str = "reset/";

pub fn api_key(key_id: &str) -> String {
    format!("key/{key_id}")
}

/// Index from a key value's hash to its id: values are unique.
pub fn api_key_hash(hash_hex: &str) -> String {
    format!("keyhash/{hash_hex}")
}

pub fn usage_plan(plan_id: &str) -> String {
    format!("plan/{plan_id}")
}

/// Quota reset times of every key in a plan.
pub fn quota_resets(plan_id: &str) -> String {
    format!("reset/{plan_id}/")
}

/// Membership index: the keys of a plan.
pub fn plan_key(plan_id: &str, key_id: &str) -> String {
    format!("plankey/{plan_id}/{key_id}")
}

pub fn plan_keys(plan_id: &str) -> String {
    format!("plankey/{plan_id}/")
}

/// Requests admitted, as u64 big-endian: usage/{plan}/{key}/{YYYY-MM-DD}.
pub fn usage(plan_id: &str, key_id: &str, date: &str) -> String {
    format!("usage/{plan_id}/{key_id}/{date}")
}

pub fn usage_of_plan(plan_id: &str) -> String {
    format!("usage/{plan_id}/")
}

pub fn usage_of_key(plan_id: &str, key_id: &str) -> String {
    format!("usage/{plan_id}/{key_id}/")
}

/// When a key's quota was last reset, ms since the epoch (u64 big-endian).
pub fn quota_reset(plan_id: &str, key_id: &str) -> String {
    format!("reset/{plan_id}/{key_id}")
}

pub const ADMIN_TOKENS: &str = "token/";

/// Admin tokens by the SHA-256 of the token.
pub fn admin_token(hash_hex: &str) -> String {
    format!("token/{hash_hex}")
}

pub fn authorizer(api_id: &str, authorizer_id: &str) -> String {
    format!("auth/{api_id}/{authorizer_id}")
}

pub fn authorizers(api_id: &str) -> String {
    format!("auth/{api_id}/")
}

/// IAM users and roles by name.
pub const PRINCIPALS: &str = "iam/principal/";
/// Access keys (and role sessions) by access key id.
pub const ACCESS_KEYS: &str = "iam/accesskey/";

pub fn principal(name: &str) -> String {
    format!("iam/principal/{name}")
}

pub fn access_key(access_key_id: &str) -> String {
    format!("iam/accesskey/{access_key_id}")
}

/// Outbound AWS credentials by name (secrets sealed).
pub const OUTBOUND_CREDENTIALS: &str = "iam/outbound/";

pub fn outbound_credential(name: &str) -> String {
    format!("iam/outbound/{name}")
}

/// Models of an API by name.
pub fn model(api_id: &str, name: &str) -> String {
    format!("model/{api_id}/{name}")
}

pub fn models(api_id: &str) -> String {
    format!("model/{api_id}/")
}

pub fn request_validator(api_id: &str, id: &str) -> String {
    format!("validator/{api_id}/{id}")
}

pub fn request_validators(api_id: &str) -> String {
    format!("validator/{api_id}/")
}

/// Gateway responses of an API by response type.
pub fn gateway_response(api_id: &str, response_type: &str) -> String {
    format!("gwresp/{api_id}/{response_type}")
}

pub fn gateway_responses(api_id: &str) -> String {
    format!("gwresp/{api_id}/")
}

/// The last usage report sequence applied per reporter (node process).
pub const USAGE_SEQUENCES: &str = "usage-seq/";

pub fn usage_sequence(reporter: &str) -> String {
    format!("usage-seq/{reporter}")
}

/// Records no node is sent and nothing served is derived from: the usage
/// ledger and its report sequences, admin tokens, the key and plan
/// indexes, and the store's own bookkeeping. A write that changes only
/// these publishes no configuration (a usage report never rebuilds the
/// fleet's set).
pub const BOOKKEEPING: &[&str] = &[
    "usage/",
    USAGE_SEQUENCES,
    ADMIN_TOKENS,
    "keyhash/",
    "plankey/",
    "meta/revision",
    "meta/store_id",
    MASTER_KEY_PROBE,
];
