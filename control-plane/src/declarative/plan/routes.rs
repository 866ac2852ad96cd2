//! Planning an API's routes: its resource tree (placed by the handlers'
//! rule) and methods, checked as PutMethod checks them.

use super::*;

impl Planner<'_> {
    /// Plans the API's resources and methods; returns the API as it will be.
    pub(super) fn routes(
        &mut self,
        path: &str,
        spec: &ApiSpec,
        api: &RestApi,
        resources: Vec<Resource>,
        methods: Vec<Method>,
        kinds: ApiKinds,
    ) -> Result<ApiAfter, StoreError> {
        let validator_by_name: HashMap<&str, &RequestValidator> = kinds
            .request_validators
            .iter()
            .map(|v| (v.name.as_str(), v))
            .collect();
        let validator_names: HashMap<&str, &str> = kinds
            .request_validators
            .iter()
            .map(|v| (v.id.as_str(), v.name.as_str()))
            .collect();
        let model_names: HashSet<&str> = kinds.models.iter().map(|m| m.name.as_str()).collect();
        let auth_by_name: HashMap<&str, &Authorizer> = kinds
            .authorizers
            .iter()
            .map(|a| (a.name.as_str(), a))
            .collect();
        let auth_by_id: HashMap<&str, &Authorizer> = kinds
            .authorizers
            .iter()
            .map(|a| (a.id.as_str(), a))
            .collect();
        let type_of = |id: &str| Ok(auth_by_id.get(id).map(|a| a.r#type()));
        let websocket = api.protocol() == ApiProtocol::Websocket;
        // How a route is named in the plan: by key in a WEBSOCKET API.
        let route_name = |verb: &str, p: &str| {
            if websocket {
                format!("{} {verb}", api.name)
            } else {
                format!("{} {verb} {p}", api.name)
            }
        };
        // The routes the document wants, by (path, verb); a WEBSOCKET API's
        // by ("/", route key).
        let mut wanted: BTreeMap<(String, String), (usize, Method)> = BTreeMap::new();
        let mut wanted_paths: BTreeSet<String> = BTreeSet::from(["/".to_string()]);
        // The first route at or under each path: it names a refused path.
        let mut first_route_under: HashMap<String, usize> = HashMap::new();
        for (k, route) in spec.routes.iter().enumerate() {
            let field = format!("{path}.routes[{k}]");
            let Some((route_path, verb)) = self.route_address(&field, route, websocket) else {
                continue;
            };
            let integration = match integration_of(&route.integration) {
                Ok(i) => i,
                Err((f, reason)) => {
                    self.error(format!("{field}.integration.{f}"), reason);
                    continue;
                }
            };
            let request_validator_id = match &route.request_validator {
                None => String::new(),
                Some(name) => match validator_by_name.get(name.as_str()) {
                    Some(v) => v.id.clone(),
                    None => {
                        self.error(
                            format!("{field}.request_validator"),
                            format!("no request validator of this API is named '{name}'"),
                        );
                        continue;
                    }
                },
            };
            let (authorization_type, authorizer_id) = match authorization_of(route, &auth_by_name) {
                Ok(a) => a,
                Err((f, reason)) => {
                    self.error(format!("{field}.{f}"), reason);
                    continue;
                }
            };
            let mut method = Method {
                api_id: api.id.clone(),
                resource_id: String::new(),
                http_method: verb.clone(),
                operation_name: route.operation_name.clone().unwrap_or_default(),
                integration: Some(integration),
                api_key_required: route.api_key_required,
                authorization_type,
                authorizer_id,
                authorization_scopes: route.scopes.clone(),
                request_parameters: route.request_parameters.clone(),
                request_models: route.request_models.clone(),
                request_validator_id,
                route_response_selection_expression: route
                    .route_response_selection_expression
                    .clone()
                    .unwrap_or_default(),
                model_selection_expression: route
                    .model_selection_expression
                    .clone()
                    .unwrap_or_default(),
                method_responses: route
                    .method_responses
                    .iter()
                    .map(|r| MethodResponse {
                        status_code: r.status_code.clone(),
                        response_parameters: r.response_parameters.clone(),
                        response_models: r.response_models.clone(),
                    })
                    .collect(),
            };
            // The handlers' rules for declarations and the integration,
            // against the models and validators as they will be. (The
            // validator was found by name above, in the same list.)
            let checked = check_method_with(
                &field,
                &format!("{field}.integration"),
                &method,
                &route_path,
                api.protocol(),
                ApiLookups {
                    model_exists: |name: &str| Ok(model_names.contains(name)),
                    validator_exists: |id: &str| Ok(validator_names.contains_key(id)),
                    authorizer_type: type_of,
                },
            )
            .map_err(|e| document_names(e, &field));
            // Recorded; the route still counts, as before these checks (the
            // API is not "without methods" because one route is refused).
            self.check(&field, checked)?;
            // The handlers' rule, its refusals named as the document names
            // the fields.
            let checked = check_authorization_with(&field, &mut method, type_of)
                .map_err(|e| document_names(e, &field));
            if self.check(&field, checked)?.is_none() {
                continue;
            }
            let key = (route_path.clone(), verb);
            if let Some((first, _)) = wanted.get(&key) {
                let same = if websocket {
                    key.1.clone()
                } else {
                    format!("{} {}", key.1, key.0)
                };
                self.error(field, format!("routes[{first}] is the same route ({same})"));
                continue;
            }
            let mut p = route_path.clone();
            while p != "/" {
                first_route_under.entry(p.clone()).or_insert(k);
                wanted_paths.insert(p.clone());
                p = parent_of(&p).0.to_string();
            }
            wanted.insert(key, (k, method));
        }

        let path_of_id: HashMap<String, String> = resources
            .iter()
            .map(|r| (r.id.clone(), r.path.clone()))
            .collect();
        // Resources some method is on: pruning one of them is listed as
        // its routes' deletion; the others are listed themselves.
        let with_methods: HashSet<String> = methods.iter().map(|m| m.resource_id.clone()).collect();
        // Existing methods: those in the document by (path, verb), to
        // update; the others left alone (as they are after the plan), or
        // pruned.
        let mut existing_methods: HashMap<(String, String), Method> = HashMap::new();
        let mut after_methods: Vec<Method> = Vec::new();
        for m in methods {
            let Some(p) = path_of_id.get(&m.resource_id) else {
                continue;
            };
            let key = (p.clone(), m.http_method.clone());
            if wanted.contains_key(&key) {
                existing_methods.insert(key, m);
                continue;
            }
            let name = route_name(&m.http_method, p);
            if self.options.prune {
                self.delete(keys::method(&api.id, &m.resource_id, &m.http_method));
                self.push(change("route", ChangeAction::Delete, name));
            } else {
                // Still valid with the authorizers as they will be?
                let mut checked = m.clone();
                let result = check_authorization_with(
                    &format!("{path} route {} {p}", m.http_method),
                    &mut checked,
                    type_of,
                );
                let result = result.map_err(|e| match e {
                    ApiError::InvalidArgument { field, reason } => ApiError::invalid(
                        path,
                        format!("{field} (not in the document, left alone): {reason}; add the route to the document or apply with --prune"),
                    ),
                    other => other,
                });
                self.check(path, result)?;
                self.push(change("route", ChangeAction::Keep, name));
                after_methods.push(m);
            }
        }
        // Resources: with prune exactly the routes' paths; without, the
        // existing ones plus what the routes need.
        let mut by_path: HashMap<String, Resource> = HashMap::new();
        for r in resources {
            if self.options.prune && !wanted_paths.contains(&r.path) {
                self.delete(keys::resource(&api.id, &r.id));
                if !with_methods.contains(&r.id) {
                    self.push(ConfigurationChange {
                        id: r.id.clone(),
                        ..change(
                            "resource",
                            ChangeAction::Delete,
                            format!("{} {}", api.name, r.path),
                        )
                    });
                }
            } else {
                by_path.insert(r.path.clone(), r);
            }
        }
        let mut siblings: HashMap<String, Siblings> = HashMap::new();
        for r in by_path.values() {
            siblings
                .entry(r.parent_id.clone())
                .or_default()
                .add(&r.path_part);
        }
        let mut missing: Vec<&String> = wanted_paths
            .iter()
            .filter(|p| !by_path.contains_key(*p))
            .collect();
        missing.sort_by_key(|p| p.matches('/').count());
        for p in missing {
            let (parent_path, part) = parent_of(p);
            let Some(parent) = by_path.get(parent_path).cloned() else {
                continue; // Its parent was refused: already reported.
            };
            let k = first_route_under.get(p.as_str()).copied().unwrap_or(0);
            let field = format!("{path}.routes[{k}].path");
            let placed = check_placement(
                &field,
                &parent,
                part,
                siblings.entry(parent.id.clone()).or_default(),
            );
            if self.check(&field, placed)?.is_none() {
                continue;
            }
            let resource = Resource {
                id: self.fresh_id(10, |id| keys::resource(&api.id, id))?,
                api_id: api.id.clone(),
                parent_id: parent.id.clone(),
                path_part: part.to_owned(),
                path: child_path(&parent.path, part),
            };
            siblings.entry(parent.id.clone()).or_default().add(part);
            self.put(keys::resource(&api.id, &resource.id), &resource);
            by_path.insert(p.clone(), resource);
        }
        // Methods the document has: created or updated.
        let name_of = |id: &str| auth_by_id.get(id).map(|a| a.name.as_str());
        let validator_of = |id: &str| validator_names.get(id).copied();
        for ((p, verb), (k, mut method)) in wanted {
            let Some(resource) = by_path.get(&p) else {
                continue; // Refused above.
            };
            method.resource_id = resource.id.clone();
            let name = route_name(&verb, &p);
            let field = format!("{path}.routes[{k}]");
            match existing_methods.remove(&(p.clone(), verb.clone())) {
                None => {
                    self.put(keys::method(&api.id, &method.resource_id, &verb), &method);
                    self.push(ConfigurationChange {
                        document_path: field,
                        ..change("route", ChangeAction::Create, name)
                    });
                }
                Some(old) => {
                    // Decided by the document form, as described: a record
                    // differing only in what the document cannot say is
                    // kept as stored.
                    let fields = field_changes(
                        &export::route_spec(&old, &p, websocket, name_of, validator_of),
                        &export::route_spec(&method, &p, websocket, name_of, validator_of),
                    );
                    if fields.is_empty() {
                        after_methods.push(old);
                        continue;
                    }
                    self.put(keys::method(&api.id, &method.resource_id, &verb), &method);
                    self.push(ConfigurationChange {
                        document_path: field,
                        fields,
                        ..change("route", ChangeAction::Update, name)
                    });
                }
            }
            after_methods.push(method);
        }
        // An operation name is one route's (generated SDKs name methods
        // after it), among the routes the API will have.
        for (k, route) in spec.routes.iter().enumerate() {
            let Some(name) = route.operation_name.as_deref() else {
                continue;
            };
            let verb = route.route_key.as_deref().unwrap_or(&route.method);
            let mine = after_methods
                .iter()
                .find(|m| m.operation_name == name && m.http_method.eq_ignore_ascii_case(verb));
            if let Some(method) = mine
                && let Some(other) = operation_name_clash(method, &after_methods)
            {
                let e = operation_name_taken(&format!("{path}.routes[{k}]"), method, other);
                self.refused(&format!("{path}.routes[{k}]"), e);
            }
        }
        Ok(ApiAfter {
            api: api.clone(),
            resources: by_path.into_values().collect(),
            methods: after_methods,
            kinds,
        })
    }
}

impl Planner<'_> {
    /// Records a refusal of a pure check (no store: nothing can fail
    /// otherwise), its field a document path.
    fn refused(&mut self, at: &str, e: ApiError) {
        match e {
            ApiError::InvalidArgument { field, reason } => self.error(field, reason),
            other => self.error(at, other.to_string()),
        }
    }

    /// Where a route is: (resource path, verb) as the document writes them,
    /// or in a WEBSOCKET API ("/", route key). None when refused (recorded).
    fn route_address(
        &mut self,
        field: &str,
        route: &RouteSpec,
        websocket: bool,
    ) -> Option<(String, String)> {
        if websocket {
            for (set, which) in [
                (!route.path.is_empty(), "path"),
                (!route.method.is_empty(), "method"),
            ] {
                if set {
                    self.error(
                        format!("{field}.{which}"),
                        "a WEBSOCKET API's routes have a route_key, not a path and method",
                    );
                    return None;
                }
            }
            let Some(key) = &route.route_key else {
                self.error(
                    format!("{field}.route_key"),
                    "is required in a WEBSOCKET API: $connect, $disconnect, $default or a custom key",
                );
                return None;
            };
            let at = format!("{field}.route_key");
            return match validate::method_key(&at, ApiProtocol::Websocket, key) {
                Ok(key) => Some(("/".to_owned(), key)),
                Err(e) => {
                    self.refused(&at, e);
                    None
                }
            };
        }
        if route.route_key.is_some() {
            self.error(
                format!("{field}.route_key"),
                "only WEBSOCKET APIs' routes have a route key; give a path and a method",
            );
            return None;
        }
        for (empty, which) in [
            (route.path.is_empty(), "path"),
            (route.method.is_empty(), "method"),
        ] {
            if empty {
                self.error(format!("{field}.{which}"), "is required");
                return None;
            }
        }
        let route_path = match normalize_path(&route.path) {
            Ok(p) => p,
            Err(reason) => {
                self.error(format!("{field}.path"), reason);
                return None;
            }
        };
        let at = format!("{field}.method");
        match validate::http_method(&at, &route.method) {
            Ok(verb) => Some((route_path, verb)),
            Err(e) => {
                self.refused(&at, e);
                None
            }
        }
    }
}

/// A refusal of a route's Method fields named as the document names them
/// (`authorization`, `authorizer`).
fn document_names(e: ApiError, field: &str) -> ApiError {
    [
        ("authorization_type", "authorization"),
        ("authorizer_id", "authorizer"),
    ]
    .into_iter()
    .fold(e, |e, (from, to)| {
        rebase(e, &format!("{field}.{from}"), &format!("{field}.{to}"))
    })
}

/// An enum the document spells, or the field and why it spells none.
fn spelled<E: Copy>(
    field: &'static str,
    value: &Option<String>,
    default: E,
    spelling: &Spelling<E>,
) -> Result<E, (String, String)> {
    spelling
        .read(value.as_deref(), default)
        .map_err(|reason| (field.to_owned(), reason))
}

fn integration_responses_of(
    specs: &[IntegrationResponseSpec],
) -> Result<Vec<IntegrationResponse>, (String, String)> {
    specs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let handling = spelled(
                "content_handling",
                &r.content_handling,
                ContentHandling::Unspecified,
                &CONTENT_HANDLING,
            )
            .map_err(|(f, reason)| (format!("integration_responses[{i}].{f}"), reason))?;
            Ok(IntegrationResponse {
                status_code: r.status_code.clone(),
                integration_response_key: r.integration_response_key.clone(),
                template_selection_expression: r.template_selection_expression.clone(),
                selection_pattern: r.selection_pattern.clone(),
                response_parameters: r.response_parameters.clone(),
                response_templates: r.response_templates.clone(),
                content_handling: handling as i32,
            })
        })
        .collect()
}

/// A route's integration in the stored form, or the field (under
/// `integration`) and why the document's spelling of an enum is refused.
/// The rules proper are the handlers' (check_method_with).
fn integration_of(spec: &IntegrationSpec) -> Result<Integration, (String, String)> {
    let verb = |m: &Option<String>| m.clone().unwrap_or_default().to_ascii_uppercase();
    let passthrough = |p: &Option<String>| {
        spelled(
            "passthrough_behavior",
            p,
            PassthroughBehavior::Unspecified,
            &PASSTHROUGH_BEHAVIOR,
        )
        .map(|p| p as i32)
    };
    let handling = |c: &Option<String>| {
        spelled(
            "content_handling",
            c,
            ContentHandling::Unspecified,
            &CONTENT_HANDLING,
        )
        .map(|c| c as i32)
    };
    Ok(match spec {
        IntegrationSpec::HttpProxy {
            uri,
            http_method,
            timeout_ms,
            cache_key_parameters,
            request_parameters,
        } => Integration {
            r#type: IntegrationType::HttpProxy as i32,
            http_method: verb(http_method),
            uri: uri.clone(),
            timeout_ms: timeout_ms.unwrap_or(0),
            mock: None,
            cache_key_parameters: cache_key_parameters.clone(),
            request_parameters: request_parameters.clone(),
            ..Default::default()
        },
        IntegrationSpec::Mock {
            status,
            headers,
            body,
            request_parameters,
            request_templates,
            template_selection_expression,
            passthrough_behavior,
            integration_responses,
        } => {
            // With templates and nothing fixed, AWS's MOCK: the template
            // picks the integration response.
            Integration {
                r#type: IntegrationType::Mock as i32,
                mock: spec.has_fixed_answer().then(|| MockResponse {
                    status_code: *status,
                    headers: headers.clone().into_iter().collect(),
                    body: body.clone(),
                }),
                request_parameters: request_parameters.clone(),
                request_templates: request_templates.clone(),
                template_selection_expression: template_selection_expression.clone(),
                passthrough_behavior: passthrough(passthrough_behavior)?,
                integration_responses: integration_responses_of(integration_responses)?,
                ..Default::default()
            }
        }
        // HTTP and AWS map requests and responses alike; AWS adds where and
        // as whom it signs.
        IntegrationSpec::Http {
            uri,
            http_method,
            timeout_ms,
            cache_key_parameters,
            request_parameters,
            request_templates,
            passthrough_behavior,
            content_handling,
            integration_responses,
            ..
        }
        | IntegrationSpec::Aws {
            uri,
            http_method,
            timeout_ms,
            cache_key_parameters,
            request_parameters,
            request_templates,
            passthrough_behavior,
            content_handling,
            integration_responses,
            ..
        } => {
            let (r#type, credentials, endpoint_url, template_selection_expression) = match spec {
                IntegrationSpec::Aws {
                    credentials,
                    endpoint_url,
                    ..
                } => (
                    IntegrationType::Aws,
                    credentials.clone(),
                    endpoint_url.clone(),
                    String::new(),
                ),
                IntegrationSpec::Http {
                    template_selection_expression,
                    ..
                } => (
                    IntegrationType::Http,
                    String::new(),
                    String::new(),
                    template_selection_expression.clone(),
                ),
                _ => unreachable!("HTTP or AWS"),
            };
            Integration {
                r#type: r#type as i32,
                http_method: verb(http_method),
                uri: uri.clone(),
                timeout_ms: timeout_ms.unwrap_or(0),
                credentials,
                endpoint_url,
                cache_key_parameters: cache_key_parameters.clone(),
                request_parameters: request_parameters.clone(),
                request_templates: request_templates.clone(),
                template_selection_expression,
                passthrough_behavior: passthrough(passthrough_behavior)?,
                content_handling: handling(content_handling)?,
                integration_responses: integration_responses_of(integration_responses)?,
                ..Default::default()
            }
        }
        IntegrationSpec::AwsProxy {
            uri,
            subtype,
            payload_format_version,
            timeout_ms,
            credentials,
            endpoint_url,
            cache_key_parameters,
            request_parameters,
            content_handling,
        } => Integration {
            r#type: IntegrationType::AwsProxy as i32,
            uri: uri.clone(),
            integration_subtype: subtype.clone(),
            payload_format_version: payload_format_version.clone(),
            timeout_ms: timeout_ms.unwrap_or(0),
            credentials: credentials.clone(),
            endpoint_url: endpoint_url.clone(),
            cache_key_parameters: cache_key_parameters.clone(),
            request_parameters: request_parameters.clone(),
            content_handling: handling(content_handling)?,
            ..Default::default()
        },
    })
}

/// A route's authorization as the document spells it, in the stored form:
/// (type, authorizer id) — the type of a named authorizer is its own. Or
/// the field and reason it is refused with. Which types are valid is the
/// handlers' rule (check_authorization_with).
fn authorization_of(
    route: &RouteSpec,
    authorizers: &HashMap<&str, &Authorizer>,
) -> Result<(String, String), (&'static str, String)> {
    match (&route.authorizer, &route.authorization) {
        (Some(name), None) => {
            let authorizer = authorizers.get(name.as_str()).ok_or((
                "authorizer",
                format!("no authorizer of this API is named '{name}'"),
            ))?;
            let kind = if authorizer.r#type() == AuthorizerType::Jwt {
                "JWT"
            } else {
                "CUSTOM"
            };
            Ok((kind.into(), authorizer.id.clone()))
        }
        (Some(_), Some(_)) => Err((
            "authorization",
            "give either an authorizer or authorization, not both".into(),
        )),
        (None, Some(kind)) => Ok((kind.to_ascii_uppercase(), String::new())),
        (None, None) => Ok(("NONE".into(), String::new())),
    }
}
