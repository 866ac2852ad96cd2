//! GetSdk: a client package for an API as deployed to a stage, generated
//! from the stage's exported OpenAPI 3.0 document with every AWS extension
//! ([`crate::openapi::export::stage_document`]), so an SDK says exactly
//! what the export says: operations, models, the stage's URL and auth.
//!
//! - [`model`] reads the document once into a language-neutral model
//!   (typed parameters, bodies, responses, auth per operation);
//! - [`typescript`], [`python`] and [`rust`] write a package each from
//!   minijinja templates (`templates/`), naming through [`names`].
//!
//! Why templates of our own rather than `progenitor` for Rust (measured
//! with progenitor-impl 0.15.1 on `fixtures/pets.json`): it refuses a
//! document whose operations lack an `operationId` (our export writes one
//! only for routes with an operation name) or that has a cookie parameter,
//! and it *panics* on AWS's greedy path parameters (`/files/{proxy+}`:
//! "missing path name mapping proxy+"), which would take the control
//! plane's handler down with it; it writes no auth (SigV4 would be a
//! hand-written async pre-hook over its output); and it adds 38 crates
//! (typify, schemars, regress, syn 3) and about 43 s of cold build on 2
//! cores to the control plane. One model and three small template sets
//! keep the three languages' auth the same and the control plane lean.

pub mod model;
pub mod names;
pub mod python;
pub mod rust;
pub mod typescript;

use crate::api::ControlPlaneState;
use crate::api::deployments::load_stage;
use crate::api::rest_apis::load_api;
use crate::error::ApiError;
use crate::openapi::export::{ExportOptions, stage_document};
use archway_proto::v1::{ApiProtocol, GetSdkRequest, GetSdkResponse, SdkFile};
use tonic::Status;

/// The languages GetSdk writes, by their `sdk_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    TypeScript,
    Python,
    Rust,
}

impl Language {
    pub const NAMES: &str = "typescript, python or rust";

    pub fn parse(sdk_type: &str) -> Option<Self> {
        match sdk_type.to_ascii_lowercase().as_str() {
            "typescript" | "ts" => Some(Self::TypeScript),
            "python" | "py" => Some(Self::Python),
            "rust" | "rs" => Some(Self::Rust),
            _ => None,
        }
    }

    /// The package name from the API's name, in the language's style.
    pub fn default_package(self, api_name: &str) -> String {
        match self {
            Self::TypeScript => names::npm_package(api_name),
            Self::Python => names::python_package(api_name),
            Self::Rust => names::crate_name(api_name),
        }
    }

    /// Why `name` is no package name in this language, or None.
    pub fn package_error(self, name: &str) -> Option<&'static str> {
        match self {
            Self::TypeScript => names::npm_package_error(name),
            Self::Python => names::python_package_error(name),
            Self::Rust => names::crate_name_error(name),
        }
    }
}

/// What a package is made for besides the document.
#[derive(Debug, Clone)]
pub struct SdkOptions {
    pub package_name: String,
    /// The URL the client calls by default.
    pub base_url: String,
}

/// A generated package: files (paths relative to its root) and what the
/// document says that the SDK cannot.
#[derive(Debug, Clone, Default)]
pub struct Package {
    pub files: Vec<(String, String)>,
    pub warnings: Vec<String>,
}

/// Writes the package for `document` in `language`.
pub fn generate(
    document: &serde_json::Value,
    language: Language,
    options: &SdkOptions,
) -> Result<Package, minijinja::Error> {
    let api = model::read(document);
    let files = match language {
        Language::TypeScript => typescript::files(&api, options)?,
        Language::Python => python::files(&api, options)?,
        Language::Rust => rust::files(&api, options)?,
    };
    Ok(Package {
        files,
        warnings: api.warnings,
    })
}

/// A template environment with the filters every language uses: `json`
/// writes a string as a JSON (and so TypeScript, Python and Rust) string
/// literal.
fn environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .expect("the default delimiters are valid");
    env.set_syntax(syntax);
    env.add_filter("json", |value: String| {
        serde_json::to_string(&value).unwrap_or_default()
    });
    env
}

/// Renders `source` (a template of `templates/`) with `context`.
fn render(
    name: &'static str,
    source: &'static str,
    context: &impl serde::Serialize,
) -> Result<String, minijinja::Error> {
    let mut env = environment();
    env.add_template(name, source)?;
    env.get_template(name)?
        .render(minijinja::Value::from(minijinja::value::Serde(context)))
}

/// Whether `c` ends a line in one of the generated languages (JavaScript
/// also ends comments at CR, U+2028 and U+2029).
fn ends_line(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}' | '\u{85}')
}

/// `text` made safe for a comment or docstring line: no line ends or other
/// control characters, and no `*/` (which would end a block comment), `"""`
/// or backslash escapes (which would end or break a Python docstring).
fn comment_text(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || ends_line(c) {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .trim_end()
        .replace("*/", "*\u{2215}")
        .replace('\\', "\u{29f5}")
        .replace("\"\"\"", "\u{201d}\u{201d}\u{201d}")
}

/// `text` on one line, for a title in a comment or docstring.
fn one_line(text: &str) -> String {
    comment_text(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// An operation's doc lines: its summary, then `quote`d `METHOD /path`
/// (made safe like the summary: a path may hold `*/` too); `gap` puts an
/// empty line between them when there is a summary.
fn operation_doc(op: &model::Operation, quote: &str, gap: bool) -> Vec<String> {
    let mut doc = doc_lines(&op.summary);
    if gap && !doc.is_empty() {
        doc.push(String::new());
    }
    let line = comment_text(&format!("{} {}", op.method, op.path));
    doc.push(format!("{quote}{line}{quote}"));
    doc
}

/// One line per paragraph of `text`, for doc comments and docstrings, each
/// made safe by [`comment_text`].
fn doc_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .replace("\r\n", "\n")
        .split(ends_line)
        .map(comment_text)
        .collect();
    // As `str::lines`: no line for an empty text or a final line end.
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

/// GetSdk.
pub fn get_sdk(
    state: &ControlPlaneState,
    request: GetSdkRequest,
) -> Result<GetSdkResponse, Status> {
    if request.api_id.is_empty() {
        return Err(ApiError::invalid("api_id", "required").into());
    }
    if request.stage_name.is_empty() {
        return Err(
            ApiError::invalid("stage_name", "required: an SDK is for a deployed stage").into(),
        );
    }
    let language = Language::parse(&request.sdk_type).ok_or_else(|| {
        ApiError::invalid(
            "sdk_type",
            format!("'{}' is not one of {}", request.sdk_type, Language::NAMES),
        )
    })?;
    let api = state.read(|view| {
        let api = load_api(view, &request.api_id)?;
        load_stage(view, &request.api_id, &request.stage_name)?;
        Ok(api)
    })?;
    if api.protocol == ApiProtocol::Websocket as i32 {
        return Err(ApiError::FailedPrecondition(format!(
            "API '{}' is a WebSocket API: SDKs are generated for REST and HTTP APIs",
            api.id
        ))
        .into());
    }
    let package_name = if request.package_name.is_empty() {
        language.default_package(&api.name)
    } else {
        if let Some(reason) = language.package_error(&request.package_name) {
            return Err(ApiError::invalid("package_name", reason).into());
        }
        request.package_name.clone()
    };
    let base_url_given = !request.base_url.is_empty();
    if base_url_given
        && !(request.base_url.starts_with("http://") || request.base_url.starts_with("https://"))
    {
        return Err(ApiError::invalid("base_url", "an http:// or https:// URL").into());
    }
    let exported = stage_document(
        state,
        &request.api_id,
        &request.stage_name,
        &ExportOptions {
            apigateway: true,
            ..Default::default()
        },
    )?;
    let base_url = if base_url_given {
        request.base_url.clone()
    } else {
        exported
            .document
            .pointer("/servers/0/url")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let package = generate(
        &exported.document,
        language,
        &SdkOptions {
            package_name,
            base_url,
        },
    )
    .map_err(|e| Status::internal(format!("writing the {language:?} SDK: {e:#}")))?;
    let mut warnings = exported.warnings;
    warnings.extend(package.warnings);
    Ok(GetSdkResponse {
        files: package
            .files
            .into_iter()
            .map(|(path, content)| SdkFile { path, content })
            .collect(),
        warnings,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn free_text_cannot_end_a_comment_or_docstring() {
        let attack = "Pets\nfn evil() {}\r// x\u{2028}alert(1) */ \"\"\" import os \\N{x}\u{7}";
        let title = one_line(attack);
        assert!(
            !title.chars().any(|c| c.is_control() || ends_line(c)),
            "{title:?}"
        );
        for needle in ["*/", "\"\"\"", "\\"] {
            assert!(!title.contains(needle), "{needle} in {title:?}");
        }
        assert!(
            title.starts_with("Pets fn evil() {} // x alert(1)"),
            "{title:?}"
        );
        let lines = doc_lines("first\r\nsecond\u{2029}third */");
        assert_eq!(lines, ["first", "second", "third *\u{2215}"]);
        // The `METHOD /path` line is made safe too: a path is free text.
        let op = model::Operation {
            name: "x".into(),
            summary: "Sum".into(),
            method: "GET".into(),
            path: "/a*/b\n}".into(),
            params: Vec::new(),
            body: None,
            response: model::Type::Any,
            auth: Default::default(),
        };
        assert_eq!(
            operation_doc(&op, "`", true),
            ["Sum", "", "`GET /a*\u{2215}b }`"]
        );
    }

    use super::*;

    fn fixture() -> serde_json::Value {
        serde_json::from_str(include_str!("fixtures/pets.json")).expect("the fixture is JSON")
    }

    fn package(language: Language) -> Package {
        generate(
            &fixture(),
            language,
            &SdkOptions {
                package_name: language.default_package("Pet Store"),
                base_url: "http://pets.execute-api.localhost:8080/prod".into(),
            },
        )
        .expect("the fixture generates")
    }

    fn file<'p>(package: &'p Package, path: &str) -> &'p str {
        package
            .files
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, content)| content.as_str())
            .unwrap_or_else(|| {
                panic!(
                    "no {path} in {:?}",
                    package.files.iter().map(|f| &f.0).collect::<Vec<_>>()
                )
            })
    }

    #[test]
    fn sdk_types_are_read_case_insensitively_and_others_refused() {
        assert_eq!(Language::parse("TypeScript"), Some(Language::TypeScript));
        assert_eq!(Language::parse("python"), Some(Language::Python));
        assert_eq!(Language::parse("rust"), Some(Language::Rust));
        assert_eq!(Language::parse("java"), None);
        assert_eq!(Language::parse(""), None);
    }

    #[test]
    fn the_typescript_package_types_models_operations_and_auth() {
        let package = package(Language::TypeScript);
        let json = file(&package, "package.json");
        let manifest: serde_json::Value = serde_json::from_str(json).expect("package.json is JSON");
        assert_eq!(manifest["name"], "pet-store");
        assert_eq!(
            manifest["dependencies"]["@smithy/signature-v4"],
            typescript::SIGNATURE_V4_VERSION
        );
        let index = file(&package, "src/index.ts");
        for expected in [
            "export interface Pet {",
            "  name: string;",
            "  age?: number;",
            "  weight?: number | null;",
            "  \"best friend\"?: Friend;",
            "  tags?: Array<string>;",
            "  attributes?: Record<string, string>;",
            "  anything?: unknown;",
            "export type Kind = \"cat\" | \"dog\" | \"class\";",
            "export type PetStatus = \"available\" | \"sold\" | \"on hold\" | \"2nd-hand\";",
            "export type Pets = Array<Pet>;",
            // Models named like what the module uses are renamed.
            "export interface ResponseModel {",
            "export interface ErrorModel {",
            "export class PetStoreClient {",
            "async listPets(input: ListPetsInput = {}): Promise<Pets> {",
            "async getPet(input: GetPetInput): Promise<Pet> {",
            // A text answer is not typed.
            "async getFilesByProxy(input: GetFilesByProxyInput): Promise<unknown> {",
            "  \"x-trace-id\"?: string;",
            "  apiKey?: string;",
            "  credentials?: AwsCredentials;",
            "  token?: string;",
            "\"greedy\":true",
        ] {
            assert!(
                index.contains(expected),
                "{expected} missing from:\n{index}"
            );
        }
        // `*/` in the API's description cannot end the comment early.
        assert!(!index.contains("odd \"text\" */"));
    }

    #[test]
    fn the_python_package_escapes_keywords_and_keys_that_are_no_identifiers() {
        let package = package(Language::Python);
        let models = file(&package, "pet_store/models.py");
        for expected in [
            "class Friend(TypedDict):",
            "    since: NotRequired[str]",
            // `class` is a keyword and `best friend` no identifier: the
            // functional syntax keeps the JSON keys as they are.
            "Pet = TypedDict(",
            "\"name\": \"str\",",
            "\"age\": \"NotRequired[int]\",",
            "\"weight\": \"NotRequired[float | None]\",",
            "\"class\": \"NotRequired[bool]\",",
            "\"best friend\": \"NotRequired[Friend]\",",
            "PetOwner = TypedDict(",
            "\"phone-number\": \"NotRequired[str]\",",
            "Kind: TypeAlias = Literal[\"cat\", \"dog\", \"class\"]",
            "Pets: TypeAlias = \"list[Pet]\"",
            "class Response(TypedDict):",
            "class Empty(TypedDict):\n    pass",
        ] {
            assert!(
                models.contains(expected),
                "{expected} missing from:\n{models}"
            );
        }
        let client = file(&package, "pet_store/client.py");
        for expected in [
            "class PetStoreClient:",
            "    def list_pets(",
            "        kind: list[str] | None = None,",
            "        x_trace_id: str | None = None,",
            "    ) -> _models.Pets:",
            "    def import_(",
            "        body: _models.Pet,",
            "    def delete(",
            "        self_: float | None = None,",
            "        type_: str | None = None,",
            "from botocore.auth import SigV4Auth",
        ] {
            assert!(
                client.contains(expected),
                "{expected} missing from:\n{client}"
            );
        }
        assert!(package.files.iter().any(|(p, _)| p == "pet_store/py.typed"));
        assert!(file(&package, "pyproject.toml").contains("name = \"pet-store\""));
    }

    #[test]
    fn the_rust_crate_boxes_recursion_and_renames_fields() {
        let package = package(Language::Rust);
        assert!(file(&package, "Cargo.toml").contains("name = \"pet-store\""));
        let lib = file(&package, "src/lib.rs");
        for expected in [
            "pub struct Pet {",
            "    pub name: String,",
            "    pub kind: Kind,",
            "    pub age: Option<i32>,",
            "    pub weight: Option<f64>,",
            "    #[serde(rename = \"type\")]\n    #[serde(default, skip_serializing_if = \"Option::is_none\")]\n    pub type_: Option<String>,",
            "    pub self_: Option<i64>,",
            "    #[serde(rename = \"best friend\")]",
            "    pub best_friend: Option<Box<Friend>>,",
            "    pub parent: Option<Box<Pet>>,",
            "    pub attributes: Option<std::collections::BTreeMap<String, String>>,",
            "    pub anything: Option<serde_json::Value>,",
            "    #[serde(rename = \"2nd-hand\")]\n    V2ndHand,",
            "    #[serde(rename = \"on hold\")]\n    OnHold,",
            "pub type Pets = Vec<Pet>;",
            // `Error` is the crate's own.
            "pub struct ErrorModel {",
        ] {
            assert!(lib.contains(expected), "{expected} missing from:\n{lib}");
        }
        // Inside Friend, the Pet field is boxed too (Pet leads back).
        assert!(lib.contains("    pub pet: Option<Box<Pet>>,"), "{lib}");
        for expected in [
            "pub async fn list_pets(\n        &self,\n        kind: Option<&[&str]>,\n        limit: Option<i32>,\n        x_trace_id: Option<&str>,\n    ) -> Result<Pets, Error> {",
            "pub async fn import(\n        &self,\n        body: &Pet,\n    ) -> Result<Pet, Error> {",
            "pub async fn get_pet(\n        &self,\n        pet_id: &str,\n        verbose: bool,\n        self_: Option<f64>,\n        type_: Option<&str>,\n    ) -> Result<Pet, Error> {",
            "pub async fn put_pets_by_pet_id(\n        &self,\n        pet_id: &str,\n        body: Option<&str>,\n    ) -> Result<Response, Error> {",
            "call.path(\"proxy\", &proxy.to_string(), true);",
            "call.token_headers = &[\"X-Auth-Token\"];",
        ] {
            assert!(lib.contains(expected), "{expected} missing from:\n{lib}");
        }
    }

    #[test]
    fn what_the_sdk_cannot_say_is_warned_with_its_pointer() {
        let package = package(Language::Rust);
        for pointer in [
            "/paths/~1pets~1{petId}/get/parameters/3/in: ",
            "/components/schemas/Pet/properties/choice: ",
        ] {
            assert!(
                package.warnings.iter().any(|w| w.starts_with(pointer)),
                "{pointer} not in {:?}",
                package.warnings
            );
        }
    }
}

/// `cargo test -p archway-control-plane --lib -- --ignored sdk_of_500`:
/// how long the three packages of a 500-operation API take to write.
#[cfg(test)]
mod measure {
    use super::*;

    #[test]
    #[ignore = "a measurement"]
    fn sdk_of_500_operations() {
        let mut paths = serde_json::Map::new();
        for i in 0..250 {
            paths.insert(
                format!("/items{i}/{{id}}"),
                serde_json::json!({
                    "get": {"operationId": format!("getItem{i}"),
                            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                                           {"name": "q", "in": "query", "schema": {"type": "string"}}],
                            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/Item{i}")}}}}}},
                    "put": {"requestBody": {"content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/Item{i}")}}}},
                            "responses": {"200": {"description": "ok"}}, "security": [{"api_key": []}]}
                }),
            );
        }
        let schemas: serde_json::Map<String, serde_json::Value> = (0..250)
            .map(|i| {
                (
                    format!("Item{i}"),
                    serde_json::json!({"type": "object", "required": ["name"], "properties": {
                        "name": {"type": "string"}, "size": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}}}}),
                )
            })
            .collect();
        let document = serde_json::json!({
            "openapi": "3.0.1", "info": {"title": "Big"}, "paths": paths,
            "components": {"schemas": schemas, "securitySchemes": {"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}}}
        });
        for language in [Language::TypeScript, Language::Python, Language::Rust] {
            let started = std::time::Instant::now();
            let package = generate(
                &document,
                language,
                &SdkOptions {
                    package_name: language.default_package("Big"),
                    base_url: "http://big.example/prod".into(),
                },
            )
            .unwrap();
            let took = started.elapsed();
            let bytes: usize = package.files.iter().map(|(_, c)| c.len()).sum();
            eprintln!("{language:?}: {} KB in {took:?}", bytes / 1024);
            // What was measured is the whole package: 500 methods.
            assert!(package.warnings.is_empty(), "{:?}", package.warnings);
            let code: String = package.files.iter().map(|(_, c)| c.as_str()).collect();
            let methods = match language {
                Language::TypeScript => code.matches("\n  async ").count(),
                Language::Python => code.matches("\n    def ").count(),
                Language::Rust => code.matches("pub async fn ").count(),
            };
            assert!(methods >= 500, "{language:?}: {methods} methods");
        }
    }
}
