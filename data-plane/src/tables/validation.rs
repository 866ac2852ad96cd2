//! Request validation as a route holds it: compiled models and what each
//! method checks (built by [`crate::compile`]'s `validation` module, run
//! by the pipeline's validate phase).

use crate::stage_cache::key::KeyParam;
use std::collections::HashMap;
use std::sync::Arc;

/// A model whose schema is compiled (JSON Schema draft 4).
#[derive(Debug)]
pub struct CompiledModel {
    pub validator: jsonschema::Validator,
}

/// A deployment's models by name.
#[derive(Debug, Default)]
pub struct Models {
    pub by_name: HashMap<Box<str>, Arc<CompiledModel>>,
}

impl Models {
    pub fn get(&self, name: &str) -> Option<&Arc<CompiledModel>> {
        self.by_name.get(name)
    }
}

/// What a method's request validation checks; a route without any check
/// has none of these (its `validation` is None).
#[derive(Debug)]
pub struct RouteValidation {
    /// Required request parameters, when the validator validates them, in
    /// the order of their declared names.
    pub parameters: Box<[RequiredParameter]>,
    /// The models bodies are checked against, when the validator validates
    /// bodies and the method has request models.
    pub body: Option<BodyModels>,
}

/// A required request parameter.
#[derive(Debug)]
pub struct RequiredParameter {
    /// The name as AWS's message lists it: `q`, `x-tenant`, `id`.
    pub name: Box<str>,
    pub source: KeyParam,
}

/// A method's request models by content type.
#[derive(Debug)]
pub struct BodyModels {
    /// Media types (lower case, no parameters) and their models.
    pub by_type: Box<[(Box<str>, Arc<CompiledModel>)]>,
    /// `$default`: for content types without a model of their own.
    pub default: Option<Arc<CompiledModel>>,
}

impl BodyModels {
    /// The model for a request's media type (no parameters, any case).
    pub fn for_media_type(&self, media_type: &str) -> Option<&Arc<CompiledModel>> {
        self.by_type
            .iter()
            .find(|(t, _)| t.eq_ignore_ascii_case(media_type))
            .map(|(_, m)| m)
            .or(self.default.as_ref())
    }
}
