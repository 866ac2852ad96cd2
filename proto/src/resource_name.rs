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
