//! What every part of an export reads (the spec and the options, resolved)
//! and where it reports what the document leaves out.

use super::ExportOptions;
use crate::declarative::document::{ApiSpec, ModelSpec};
use std::collections::HashMap;

pub(super) struct Context<'s> {
    pub spec: &'s ApiSpec,
    /// The API's id: its models' URLs in stored `$ref`s carry it.
    pub api_id: &'s str,
    pub swagger: bool,
    /// `integrations` or `apigateway`.
    pub integrations: bool,
    /// `authorizers` or `apigateway`.
    pub authorizers: bool,
    pub apigateway: bool,
    pub postman: bool,
    pub models: HashMap<&'s str, &'s ModelSpec>,
    pub warnings: Vec<String>,
}

impl<'s> Context<'s> {
    pub fn new(spec: &'s ApiSpec, options: &ExportOptions) -> Self {
        Self {
            spec,
            api_id: spec.id.as_deref().unwrap_or_default(),
            swagger: options.swagger,
            integrations: options.integrations || options.apigateway,
            authorizers: options.authorizers || options.apigateway,
            apigateway: options.apigateway,
            postman: options.postman,
            models: spec.models.iter().map(|m| (m.name.as_str(), m)).collect(),
            warnings: Vec::new(),
        }
    }

    /// The document's version, for warnings ("Swagger 2.0").
    pub fn version_name(&self) -> &'static str {
        if self.swagger {
            "Swagger 2.0"
        } else {
            "OpenAPI 3.0"
        }
    }
}
