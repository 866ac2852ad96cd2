//! The API's own fields: `info`, and the extensions at the document's root
//! (API key source, policy, endpoint configuration, binary media types,
//! CORS, request validators, gateway responses, and the ones Archway
//! notes but does not do).

use super::{Reader, child};
use crate::declarative::document::{CorsSpec, GatewayResponseSpec, RequestValidatorSpec};
use crate::openapi::mapping::*;
use serde_json::Value;

/// The root extensions this module reads (others are warned about).
const ROOT_EXTENSIONS: &[&str] = &[
    API_KEY_SOURCE,
    POLICY,
    ENDPOINT_CONFIGURATION,
    BINARY_MEDIA_TYPES,
    CORS,
    REQUEST_VALIDATORS,
    REQUEST_VALIDATOR,
    GATEWAY_RESPONSES,
    MINIMUM_COMPRESSION_SIZE,
    IMPORTEXPORT_VERSION,
];

impl<'d> Reader<'d> {
    pub(super) fn api(&mut self) {
        let doc = self.doc;
        match doc.pointer("/info/title").and_then(Value::as_str) {
            Some(title) if !title.trim().is_empty() => self.spec.name = title.trim().to_owned(),
            _ => self.error("/info/title", "is required: it is the API's name"),
        }
        if let Some(description) = doc.pointer("/info/description").and_then(Value::as_str) {
            self.spec.description = description.to_owned();
        }
        if let Some(source) = doc.get(API_KEY_SOURCE) {
            self.spec.api_key_source = self
                .text(source, &child("", API_KEY_SOURCE))
                .map(|s| s.to_ascii_uppercase());
        }
        if let Some(policy) = doc.get(POLICY) {
            self.spec.policy = match policy {
                // AWS's exports write the policy as a JSON string.
                Value::String(text) => match serde_json::from_str(text) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        self.error(
                            child("", POLICY),
                            format!("is not a JSON policy document: {e}"),
                        );
                        None
                    }
                },
                other => Some(other.clone()),
            };
        }
        self.endpoint_configuration();
        if let Some(types) = doc.get(BINARY_MEDIA_TYPES) {
            self.spec.binary_media_types = self
                .string_list(Some(types), &child("", BINARY_MEDIA_TYPES))
                .into_iter()
                // AWS's API spells `/` as `~1` in binary media types.
                .map(|t| t.replace("~1", "/"))
                .collect();
        }
        if let Some(cors) = doc.get(CORS) {
            if self.http_api {
                self.cors(cors);
            } else {
                self.warn(
                    child("", CORS),
                    "REST APIs answer CORS preflights with OPTIONS methods (as AWS's); the HTTP API setting is ignored",
                );
            }
        }
        if let Some(validators) = doc.get(REQUEST_VALIDATORS)
            && !self.http_api
        {
            self.request_validators(validators);
        }
        if let Some(responses) = doc.get(GATEWAY_RESPONSES) {
            self.gateway_responses(responses);
        }
        if doc.get(MINIMUM_COMPRESSION_SIZE).is_some() {
            self.warn(
                child("", MINIMUM_COMPRESSION_SIZE),
                "Archway nodes do not compress answers; ignored",
            );
        }
        if let Some(version) = doc.get(IMPORTEXPORT_VERSION)
            && version.as_str() != Some("1.0")
        {
            self.warn(
                child("", IMPORTEXPORT_VERSION),
                format!("version {version} is read as 1.0"),
            );
        }
        if let Some(root) = doc.as_object() {
            self.unknown_extensions(root, "", ROOT_EXTENSIONS);
        }
    }

    /// `types` (REGIONAL, PRIVATE; EDGE is served as REGIONAL), at the root
    /// or (OpenAPI 3) on the first server.
    fn endpoint_configuration(&mut self) {
        let doc = self.doc;
        let (config, at) = match doc.get(ENDPOINT_CONFIGURATION) {
            Some(c) => (c, child("", ENDPOINT_CONFIGURATION)),
            None => match doc
                .pointer("/servers/0")
                .and_then(|s| s.get(ENDPOINT_CONFIGURATION))
            {
                Some(c) => (c, child("/servers/0", ENDPOINT_CONFIGURATION)),
                None => return,
            },
        };
        let Some(map) = self.object(config, &at) else {
            return;
        };
        for (key, value) in map {
            let here = child(&at, key);
            match key.as_str() {
                "types" => {
                    let types = self.string_list(Some(value), &here);
                    match types.first().map(|t| t.to_ascii_uppercase()).as_deref() {
                        Some("REGIONAL") | None => {}
                        Some("PRIVATE") => self.spec.endpoint_type = Some("PRIVATE".into()),
                        Some("EDGE") => self.warn(here, "EDGE endpoints are served as REGIONAL (no CDN in front)"),
                        Some(other) => self.error(here, format!("'{other}' is not an endpoint type (REGIONAL, PRIVATE, EDGE)")),
                    }
                }
                "vpcEndpointIds" => self.warn(
                    here,
                    "private APIs are served on the nodes' private listeners and CIDRs, not VPC endpoints; ignored",
                ),
                "disableExecuteApiEndpoint" => self.warn(here, "the default endpoint is how nodes serve an API; ignored"),
                other => self.warn(here, format!("'{other}' is not read; ignored")),
            }
        }
    }

    fn cors(&mut self, value: &Value) {
        let at = child("", CORS);
        let Some(map) = self.object(value, &at) else {
            return;
        };
        let mut cors = CorsSpec::default();
        for (key, value) in map {
            let here = child(&at, key);
            match key.as_str() {
                "allowOrigins" => cors.allow_origins = self.string_list(Some(value), &here),
                "allowMethods" => cors.allow_methods = self.string_list(Some(value), &here),
                "allowHeaders" => cors.allow_headers = self.string_list(Some(value), &here),
                "exposeHeaders" => cors.expose_headers = self.string_list(Some(value), &here),
                "maxAge" => cors.max_age_seconds = self.number(value, &here),
                "allowCredentials" => {
                    cors.allow_credentials = self.boolean(value, &here).unwrap_or(false)
                }
                other => self.warn(here, format!("'{other}' is not a CORS setting; ignored")),
            }
        }
        self.spec.cors = Some(cors);
    }

    fn request_validators(&mut self, value: &Value) {
        let at = child("", REQUEST_VALIDATORS);
        let Some(map) = self.object(value, &at) else {
            return;
        };
        for (name, validator) in map {
            let here = child(&at, name);
            let flag = |r: &mut Self, key: &str| match validator.get(key) {
                Some(v) => r.boolean(v, &child(&here, key)).unwrap_or(false),
                None => false,
            };
            let spec = RequestValidatorSpec {
                name: name.clone(),
                body: flag(self, "validateRequestBody"),
                parameters: flag(self, "validateRequestParameters"),
            };
            self.spec.request_validators.push(spec);
            self.origins.request_validators.push(here);
        }
    }

    fn gateway_responses(&mut self, value: &Value) {
        let at = child("", GATEWAY_RESPONSES);
        let Some(map) = self.object(value, &at) else {
            return;
        };
        for (kind, response) in map {
            let here = child(&at, kind);
            let status_code = match response.get("statusCode") {
                Some(v) => self
                    .text(v, &child(&here, "statusCode"))
                    .unwrap_or_default(),
                None => String::new(),
            };
            let spec = GatewayResponseSpec {
                response_type: kind.clone(),
                status_code,
                response_parameters: self.string_map(
                    response.get("responseParameters"),
                    &child(&here, "responseParameters"),
                ),
                response_templates: self.string_map(
                    response.get("responseTemplates"),
                    &child(&here, "responseTemplates"),
                ),
            };
            self.spec.gateway_responses.push(spec);
            self.origins.gateway_responses.push(here);
        }
    }
}
