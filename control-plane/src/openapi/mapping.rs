//! The one mapping between an [`ApiSpec`] and an OpenAPI document, which
//! import and export both follow (so a round trip gives the same
//! `ApiSpec`). Where AWS has a spelling, it is AWS's, as AWS's own exports
//! write it; where AWS's extensions cannot say an Archway setting, an
//! `x-archway-*` key says it, next to the AWS key, so that the document
//! still imports into AWS (which ignores unknown `x-` keys).
//!
//! | `ApiSpec` | OpenAPI 3.x (Swagger 2.0 where it differs) |
//! |---|---|
//! | `name`, `description` | `info.title`, `info.description` (`info.version`: the deployment id on export, ignored on import) |
//! | `protocol` HTTP | [`IMPORTEXPORT_VERSION`] `"1.0"` at the root (AWS writes it only for HTTP APIs) |
//! | `api_key_source` | [`API_KEY_SOURCE`]: `HEADER` / `AUTHORIZER` |
//! | `policy` | [`POLICY`]: the IAM JSON object |
//! | `endpoint_type` | [`ENDPOINT_CONFIGURATION`] `{types: [REGIONAL]}` (root; OAS3 also in `servers[0]`) |
//! | `binary_media_types` | [`BINARY_MEDIA_TYPES`] |
//! | `cors` (HTTP APIs) | [`CORS`] `{allowOrigins, allowMethods, allowHeaders, exposeHeaders, maxAge, allowCredentials}` |
//! | `models[]` | `components.schemas` (`definitions`), keyed by name; `$ref`s between models are `#/components/schemas/NAME` (`#/definitions/NAME`) in the document and AWS's model URLs (`archway_proto::models::model_url`) in the store; a model's `description` is the schema's `description`; a content type other than `application/json` is [`MODEL_CONTENT_TYPE`] on the schema |
//! | `request_validators[]` | [`REQUEST_VALIDATORS`] `{NAME: {validateRequestBody, validateRequestParameters}}` |
//! | `gateway_responses[]` | [`GATEWAY_RESPONSES`] `{TYPE: {statusCode, responseParameters, responseTemplates}}` |
//! | `authorizers[]` | `components.securitySchemes` (`securityDefinitions`) keyed by name, see below |
//! | route `path` + `method` | `paths[path][verb]`; `ANY` is [`ANY_METHOD`] |
//! | route `operation_name` | `operationId` |
//! | route `request_parameters` | `parameters` (`in: path/query/header`, `required`; `schema: {type: string}`, Swagger `type: string`); `method.request.multivaluequerystring.X` is a query parameter with `schema: {type: array, items: {type: string}}` (Swagger: `type: array, items, collectionFormat: multi`), `method.request.multivalueheader.X` a header parameter likewise (Swagger `collectionFormat: csv`); a name declared in both forms is written once, multi-valued, with a warning. Order: path (template order), query, header (by name). See "Path parameters" below |
//! | route `request_models` | `requestBody.content[TYPE].schema.$ref` (Swagger: one `in: body` parameter and `consumes`); `$default` is the content type `*/*` |
//! | route `request_validator` | [`REQUEST_VALIDATOR`] on the operation (on import, the root's applies to operations without their own) |
//! | route `method_responses[]` | `responses[STATUS]`: `description: "STATUS response"` (as AWS; not read back), `headers` (response_parameters, `required`; Swagger's headers have no `required`: written `{type: string}`, with a warning when one was required, and read back as not required), `content[TYPE].schema.$ref` (response_models; Swagger: one `schema` and `produces`). A route with none has `responses: {default: {description: DEFAULT_RESPONSE_DESCRIPTION}}` (OpenAPI needs one response); `default` is never a method response (AWS's are status codes), so the import reads no method response from it |
//! | route `api_key_required` | `security: [{api_key: []}]`, scheme [`API_KEY_SCHEME`] = `{type: apiKey, name: x-api-key, in: header}` |
//! | route `authorization` AWS_IAM | `security: [{sigv4: []}]`, scheme [`SIGV4_SCHEME`] = `{type: apiKey, name: Authorization, in: header, x-amazon-apigateway-authtype: awsSigv4}` |
//! | route `authorizer` + `scopes` | `security: [{AUTHORIZER_NAME: [scopes]}]` |
//! | route `integration` | [`INTEGRATION`] on the operation, see below |
//!
//! Path parameters: every variable of a path template (`{id}`, `{proxy+}`,
//! its parameter named without the `+`, as AWS names it) has a parameter
//! `in: path, required: true`, as OpenAPI demands, whether the route
//! declares `method.request.path.NAME` or not. With `apigateway`, one the
//! route does not declare carries [`ARCHWAY_UNDECLARED`]`: true`; the
//! import declares every path parameter (`method.request.path.NAME: true`,
//! as AWS's import does) except those so marked. A declared path parameter
//! is always written required (a `false` is exported as `true`, with a
//! warning).
//!
//! Swagger 2.0 (where OpenAPI 3.0 has a choice Swagger lacks): a request
//! body is one `in: body` parameter named after its model, with
//! `consumes` listing every request content type; when the content types
//! name different models, the `application/json` one (else the first) is
//! written, with a warning. Responses likewise, with `produces`.
//!
//! Which extensions each export switch writes (the root's
//! [`IMPORTEXPORT_VERSION`] is always written for an HTTP API, and
//! [`ANY_METHOD`] and the SigV4 scheme's [`AUTHTYPE`] always: without them
//! a route or its IAM check would be lost):
//! - `integrations`: [`INTEGRATION`] and [`ARCHWAY_INTEGRATION`] on operations.
//! - `authorizers`: [`AUTHTYPE`], [`AUTHORIZER`] and [`ARCHWAY_AUTHORIZER`]
//!   on authorizers' schemes.
//! - `apigateway`: both, and every other one: root settings,
//!   [`REQUEST_VALIDATOR`], [`MODEL_CONTENT_TYPE`], [`ARCHWAY_UNDECLARED`].
//!   The round trip import → export → import holds with `apigateway`.
//! - `postman`: no extension; `example`s from the models on bodies and
//!   responses (Swagger: `examples` on responses, `x-example` on
//!   parameters) and on parameters.
//!
//! A model's references within itself (`#`, `#/definitions/X`: pointers
//! into its own schema) are `#/components/schemas/NAME` +  pointer
//! (`#/definitions/NAME` + pointer) in the document; on import a reference
//! into the model's own schema with a pointer becomes `#` + pointer again,
//! and one to a model's root (its own included) its model URL.
//!
//! Models on export: a top-level `$schema` is dropped (OpenAPI's Schema
//! Object has none; Archway reads every model as draft 4), so a model that
//! had one comes back without it. Keywords a Schema Object lacks
//! (`patternProperties`, `definitions`, `type` lists...) are written as
//! they are, with a warning (tools checking the document may refuse it).
//!
//! Scalars on export: gateway and integration responses' `statusCode` are
//! strings (AWS writes both; import reads a string or a number);
//! `passthroughBehavior` lower case, `contentHandling` as stored
//! (`CONVERT_TO_TEXT`), as AWS writes them.
//!
//! Authorizers, a security scheme each (`type: apiKey, in: header, name:`
//! the identity header; OAS3 `type: oauth2` is also read for JWT):
//! - JWT: [`AUTHTYPE`] `jwt`; [`AUTHORIZER`] `{type: jwt, identitySource,
//!   jwtConfiguration: {issuer, audience: [...]}}`, and [`ARCHWAY_AUTHORIZER`]
//!   `{jwksUri, algorithms, leewaySeconds}` for what AWS derives or fixes.
//!   Imported too: `{type: cognito_user_pools, providerARNs: [...]}` (issuer
//!   `https://cognito-idp.{region}.amazonaws.com/{poolId}`, keys at
//!   `{issuer}/.well-known/jwks.json`, no audience check, as AWS).
//! - TOKEN / REQUEST: [`AUTHTYPE`] `custom`; [`AUTHORIZER`] `{type: token |
//!   request, authorizerUri, identitySource, identityValidationExpression,
//!   authorizerResultTtlInSeconds}`; `authorizerUri` is the http(s) URL the
//!   node calls. A Lambda authorizer (`arn:aws:apigateway:…:lambda:path/…`)
//!   is refused: importing it without its check would leave the routes
//!   open. Its timeout is [`ARCHWAY_AUTHORIZER`] `{timeoutInMillis}`.
//!
//! The integration object ([`INTEGRATION`]), AWS's field names, enums in
//! AWS's lower-case export spelling on export and any case on import:
//! `type` (http_proxy, http, mock, aws, aws_proxy), `uri`, `httpMethod`,
//! `timeoutInMillis`, `credentials`, `requestParameters`,
//! `requestTemplates`, `passthroughBehavior`, `contentHandling`,
//! `cacheKeyParameters`, `payloadFormatVersion`, `integrationSubtype`,
//! `connectionType` (INTERNET only), and `responses`: `{PATTERN |
//! "default": {statusCode, responseParameters, responseTemplates,
//! contentHandling}}`. Archway-only integration settings are in
//! [`ARCHWAY_INTEGRATION`] on the operation:
//! - `endpointUrl`: the AWS / AWS_PROXY integration's endpoint override;
//! - `mock: {statusCode, headers, body}`: a MOCK without templates (a fixed
//!   answer). The AWS object beside it says the same in AWS's terms
//!   (`requestTemplates: {"application/json": "{\"statusCode\": N}"}` and a
//!   default response whose template is the body), so AWS serves it too;
//!   Archway reads the `x-archway-integration` form: it is written
//!   exactly when the MOCK is fixed (the planner's test: a status other
//!   than 200, headers, a body, or no request templates). A fixed MOCK's
//!   own request templates and integration responses, if any, are in
//!   `x-archway-integration` too (`requestTemplates`, `responses`, as in
//!   the AWS object, which then says them instead of the synthesized
//!   pair); the import of a fixed MOCK reads templates and responses from
//!   there only (absent: none), and `requestParameters` and
//!   `passthroughBehavior` from the AWS object.
//! - `aws_proxy` functions get `httpMethod: POST` (AWS wants it); the
//!   import ignores `httpMethod` for `aws_proxy`.
//!
//! Stages, stage variables, usage plans, keys and IAM principals are not in
//! an OpenAPI document (they are in AWS neither); export writes
//! `servers: [{url: STAGE_URL}]` for the stage exported.
//!
//! [`ApiSpec`]: crate::declarative::document::ApiSpec

pub const INTEGRATION: &str = "x-amazon-apigateway-integration";
pub const AUTHORIZER: &str = "x-amazon-apigateway-authorizer";
pub const AUTHTYPE: &str = "x-amazon-apigateway-authtype";
pub const API_KEY_SOURCE: &str = "x-amazon-apigateway-api-key-source";
pub const REQUEST_VALIDATORS: &str = "x-amazon-apigateway-request-validators";
pub const REQUEST_VALIDATOR: &str = "x-amazon-apigateway-request-validator";
pub const BINARY_MEDIA_TYPES: &str = "x-amazon-apigateway-binary-media-types";
pub const GATEWAY_RESPONSES: &str = "x-amazon-apigateway-gateway-responses";
pub const CORS: &str = "x-amazon-apigateway-cors";
pub const POLICY: &str = "x-amazon-apigateway-policy";
pub const ENDPOINT_CONFIGURATION: &str = "x-amazon-apigateway-endpoint-configuration";
pub const ANY_METHOD: &str = "x-amazon-apigateway-any-method";
pub const MINIMUM_COMPRESSION_SIZE: &str = "x-amazon-apigateway-minimum-compression-size";
pub const IMPORTEXPORT_VERSION: &str = "x-amazon-apigateway-importexport-version";

/// Archway's settings AWS's extensions cannot say (see the module docs).
pub const ARCHWAY_INTEGRATION: &str = "x-archway-integration";
/// On a path parameter the route does not declare (see "Path parameters").
pub const ARCHWAY_UNDECLARED: &str = "x-archway-undeclared";
pub const ARCHWAY_AUTHORIZER: &str = "x-archway-authorizer";
pub const MODEL_CONTENT_TYPE: &str = "x-archway-content-type";

/// The security scheme names export gives API keys and SigV4.
pub const API_KEY_SCHEME: &str = "api_key";
pub const SIGV4_SCHEME: &str = "sigv4";
/// The header API keys travel in (`api_key_source` HEADER).
pub const API_KEY_HEADER: &str = "x-api-key";
/// `x-amazon-apigateway-authtype` values.
pub const AUTHTYPE_SIGV4: &str = "awsSigv4";
pub const AUTHTYPE_CUSTOM: &str = "custom";
pub const AUTHTYPE_COGNITO: &str = "cognito_user_pools";
pub const AUTHTYPE_JWT: &str = "jwt";

/// The description of the `default` response a route without method
/// responses gets (OpenAPI needs one response per operation).
pub const DEFAULT_RESPONSE_DESCRIPTION: &str = "Default response";

/// The content type a `$default` request model is written as.
pub const ANY_CONTENT_TYPE: &str = "*/*";
/// What `request_models` calls "any other content type".
pub const DEFAULT_MODEL_KEY: &str = archway_proto::rules::method::DEFAULT_MODEL_KEY;

/// The verbs an OpenAPI path item may have, lower case as OpenAPI spells
/// them (`trace` is OpenAPI's but no gateway method).
pub const VERBS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch"];

/// Where a schema reference points, by document version.
pub fn schema_ref(swagger: bool, name: &str) -> String {
    if swagger {
        format!("#/definitions/{name}")
    } else {
        format!("#/components/schemas/{name}")
    }
}

/// A JSON pointer's reference token (RFC 6901): `~` → `~0`, `/` → `~1`.
pub fn pointer_token(token: &str) -> std::borrow::Cow<'_, str> {
    if token.contains(['~', '/']) {
        token.replace('~', "~0").replace('/', "~1").into()
    } else {
        token.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_tokens_escape_tilde_before_slash() {
        assert_eq!(pointer_token("/pets/{id}"), "~1pets~1{id}");
        assert_eq!(pointer_token("a~/b"), "a~0~1b");
        assert_eq!(pointer_token("plain"), "plain");
    }
}
