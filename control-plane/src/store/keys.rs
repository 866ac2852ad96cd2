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
