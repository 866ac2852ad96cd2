//! Planning APIs: which existing API each of the document's matches, the
//! API's own fields, its authorizers, and what is left alone or pruned.

use super::*;

impl Planner<'_> {
    /// Plans every API of the document, then what exists and the document
    /// does not have (left alone, or pruned).
    pub(super) fn apis(&mut self, doc: &ApplyFile) -> Result<(), StoreError> {
        let existing: Vec<RestApi> = self.view.scan(keys::APIS)?;
        let by_id: HashMap<&str, &RestApi> = existing.iter().map(|a| (a.id.as_str(), a)).collect();
        let mut by_name: HashMap<&str, Vec<&RestApi>> = HashMap::new();
        for api in &existing {
            by_name.entry(api.name.as_str()).or_default().push(api);
        }
        let mut claimed: HashMap<String, usize> = HashMap::new();
        for (i, spec) in doc.apis.iter().enumerate() {
            let path = format!("apis[{i}]");
            let found: &[&RestApi] = match &spec.id {
                Some(id) => by_id.get(id.as_str()).map_or(&[], std::slice::from_ref),
                None => by_name.get(spec.name.as_str()).map_or(&[], Vec::as_slice),
            };
            if found.len() > 1 {
                self.error(
                    format!("{path}.name"),
                    format!(
                        "{} APIs are named '{}'; give the one to apply with `id:`",
                        found.len(),
                        spec.name
                    ),
                );
                continue;
            }
            let current = found.first().copied();
            // The same API twice in the document: the second would undo the first.
            let identity = match (&spec.id, current) {
                (Some(id), _) => format!("id {id}"),
                (None, Some(api)) => format!("id {}", api.id),
                (None, None) => format!("name {}", spec.name),
            };
            if let Some(first) = claimed.insert(identity.clone(), i) {
                self.error(
                    path.clone(),
                    format!("apis[{first}] is the same API ({identity}); merge the two"),
                );
                continue;
            }
            self.api(&path, spec, current)?;
        }
        if self.options.definition_only {
            return Ok(());
        }
        // APIs the document does not have.
        let in_doc: HashSet<&str> = self
            .final_apis
            .iter()
            .map(|(id, _)| id.as_str())
            .collect::<HashSet<_>>();
        let missing: Vec<&RestApi> = existing
            .iter()
            .filter(|a| !in_doc.contains(a.id.as_str()))
            .collect();
        let view = self.view;
        for api in missing {
            let delete = || api_record_keys(view, &api.id);
            if self.leave_or_prune("api", api.id.clone(), api.name.clone(), delete) {
                self.final_apis.push((api.id.clone(), api.name.clone()));
                self.final_protocols.insert(api.id.clone(), api.protocol());
                for stage in self.view.scan::<Stage>(&keys::stages(&api.id))? {
                    self.final_stages.insert((api.id.clone(), stage.stage_name));
                }
            }
        }
        Ok(())
    }

    /// The API's own record as the document wants it, or None after
    /// recording why not.
    fn api_record(
        &mut self,
        path: &str,
        spec: &ApiSpec,
        current: Option<&RestApi>,
    ) -> Result<Option<RestApi>, StoreError> {
        let before = self.errors.len();
        let field = |f: &str| format!("{path}.{f}");
        // The document's spelling of the enums is the planner's to read;
        // the field rules are the handlers' (check_api_fields, below).
        let protocol = self
            .enum_field(
                field("protocol"),
                spec.protocol.as_deref(),
                ApiProtocol::Rest,
                &API_PROTOCOL,
            )
            .unwrap_or(ApiProtocol::Rest);
        let key_source = self
            .enum_field(
                field("api_key_source"),
                spec.api_key_source.as_deref(),
                ApiKeySource::Header,
                &API_KEY_SOURCE,
            )
            .unwrap_or(ApiKeySource::Header);
        let endpoint_type = self
            .enum_field(
                field("endpoint_type"),
                spec.endpoint_type.as_deref(),
                EndpointType::Regional,
                &ENDPOINT_TYPE,
            )
            .unwrap_or(EndpointType::Regional);
        let id = match (&spec.id, current) {
            (_, Some(api)) => api.id.clone(),
            (Some(id), None) => {
                self.check(&field("id"), validate::api_id(&field("id"), id))?;
                id.clone()
            }
            (None, None) => self.fresh_id(10, keys::api)?,
        };
        if let Some(api) = current
            && api.protocol != protocol as i32
        {
            self.error(
                field("protocol"),
                format!(
                    "API '{}' is {}; a protocol cannot change (create another API)",
                    api.id,
                    API_PROTOCOL.short(api.protocol())
                ),
            );
        }
        let mut api = RestApi {
            id,
            name: spec.name.clone(),
            description: spec.description.clone(),
            protocol: protocol as i32,
            root_resource_id: current
                .map(|a| a.root_resource_id.clone())
                .unwrap_or_default(),
            created_at_ms: current.map_or_else(ids::now_ms, |a| a.created_at_ms),
            api_key_source: key_source as i32,
            policy: spec
                .policy
                .as_ref()
                .map(export::policy_text)
                .unwrap_or_default(),
            endpoint_type: endpoint_type as i32,
            binary_media_types: spec.binary_media_types.clone(),
            route_selection_expression: spec.route_selection_expression.clone().unwrap_or_default(),
            cors_configuration: spec.cors.as_ref().map(|c| CorsConfiguration {
                allow_origins: c.allow_origins.clone(),
                allow_methods: c.allow_methods.clone(),
                allow_headers: c.allow_headers.clone(),
                expose_headers: c.expose_headers.clone(),
                max_age_seconds: c.max_age_seconds,
                allow_credentials: c.allow_credentials,
            }),
        };
        let (protocol, refusals) = check_api_fields(&api);
        api.protocol = protocol as i32;
        for refusal in refusals {
            self.check(path, Err::<(), _>(prefixed(path, refusal)))?;
        }
        let checked = check_resource_policy(self.view, &api).map_err(|e| prefixed(path, e));
        self.check(path, checked)?;
        Ok((self.errors.len() == before).then_some(api))
    }

    fn api(
        &mut self,
        path: &str,
        spec: &ApiSpec,
        current: Option<&RestApi>,
    ) -> Result<(), StoreError> {
        let Some(mut api) = self.api_record(path, spec, current)? else {
            // Still check what is inside, to report every error at once.
            self.check_only = true;
            // As the document says, so its routes are read as that
            // protocol's (paths and verbs, or route keys).
            let protocol = API_PROTOCOL
                .read(spec.protocol.as_deref(), ApiProtocol::Rest)
                .unwrap_or(ApiProtocol::Rest);
            let unchecked = RestApi {
                protocol: protocol as i32,
                ..Default::default()
            };
            let checked = self.api_contents(path, spec, &unchecked, None, true);
            self.check_only = false;
            return checked;
        };
        self.final_apis.push((api.id.clone(), api.name.clone()));
        self.final_protocols.insert(api.id.clone(), api.protocol());
        let root = match current {
            Some(_) => None,
            None => {
                let root = Resource {
                    id: self.fresh_id(10, |id| keys::resource(&api.id, id))?,
                    api_id: api.id.clone(),
                    parent_id: String::new(),
                    path_part: String::new(),
                    path: "/".into(),
                };
                api.root_resource_id = root.id.clone();
                Some(root)
            }
        };
        let api_change = match current {
            None => Some(ConfigurationChange {
                id: self.shown_id(&api.id),
                document_path: path.to_owned(),
                ..change("api", ChangeAction::Create, spec.name.clone())
            }),
            Some(old) => {
                let fields = field_changes(&export::api_fields(old), &export::api_fields(&api));
                (!fields.is_empty()).then(|| ConfigurationChange {
                    id: api.id.clone(),
                    document_path: path.to_owned(),
                    fields,
                    ..change("api", ChangeAction::Update, spec.name.clone())
                })
            }
        };
        // The API's change comes before its routes'.
        if let Some(api_change) = api_change {
            self.put(keys::api(&api.id), &api);
            self.push(api_change);
        }
        self.api_contents(path, spec, &api, root, false)
    }

    /// Authorizers, routes and stages of one API. `check_only` for an API
    /// already refused: what the document says of its authorizers and
    /// routes is checked (against nothing stored) so every error is
    /// reported at once; no ids are drawn, nothing is staged, and its
    /// stages are not planned (there is no API to deploy).
    fn api_contents(
        &mut self,
        path: &str,
        spec: &ApiSpec,
        api: &RestApi,
        new_root: Option<Resource>,
        check_only: bool,
    ) -> Result<(), StoreError> {
        let is_new = new_root.is_some() || check_only;
        fn stored<M: Message + Default>(
            view: &View,
            is_new: bool,
            prefix: String,
        ) -> Result<Vec<M>, StoreError> {
            if is_new {
                Ok(Vec::new())
            } else {
                view.scan(&prefix)
            }
        }
        let view = self.view;
        let authorizers: Vec<Authorizer> = stored(view, is_new, keys::authorizers(&api.id))?;
        let mut resources: Vec<Resource> = stored(view, is_new, keys::resources(&api.id))?;
        let methods: Vec<Method> = stored(view, is_new, keys::methods_of_api(&api.id))?;
        let stages: Vec<Stage> = stored(view, is_new, keys::stages(&api.id))?;
        if let Some(root) = new_root {
            self.put(keys::resource(&api.id, &root.id), &root);
            resources.push(root);
        }
        let models: Vec<Model> = stored(view, is_new, keys::models(&api.id))?;
        let validators: Vec<RequestValidator> =
            stored(view, is_new, keys::request_validators(&api.id))?;
        let gateway_responses: Vec<GatewayResponse> =
            stored(view, is_new, keys::gateway_responses(&api.id))?;
        let kinds = ApiKinds {
            authorizers: self.authorizers(path, spec, api, authorizers)?,
            models: self.models(path, spec, api, models)?,
            request_validators: self.request_validators(path, spec, api, validators)?,
            gateway_responses: self.gateway_responses(path, spec, api, gateway_responses)?,
        };
        let after = self.routes(path, spec, api, resources, methods, kinds)?;
        if !check_only && !self.options.definition_only {
            self.stages(path, spec, after, stages)?;
        }
        Ok(())
    }

    /// Plans the API's authorizers; returns them as they will be.
    fn authorizers(
        &mut self,
        path: &str,
        spec: &ApiSpec,
        api: &RestApi,
        existing: Vec<Authorizer>,
    ) -> Result<Vec<Authorizer>, StoreError> {
        let mut after = Vec::new();
        let mut names = Names::new(
            &existing,
            |a| a.name.as_str(),
            Wording {
                one: "authorizer",
                many: "authorizers of this API",
                twice: "",
                shared: "",
            },
        );
        for (j, a) in spec.authorizers.iter().enumerate() {
            let field = format!("{path}.authorizers[{j}]");
            let Some(current) = self.claim(&mut names, &field, &a.name) else {
                continue;
            };
            // The spelling is the planner's to read; UNSPECIFIED is the
            // rules' to refuse (validate::authorizer, below).
            let Some(kind) = self.enum_field(
                format!("{field}.type"),
                Some(&a.kind),
                AuthorizerType::Jwt,
                &AUTHORIZER_TYPE,
            ) else {
                continue;
            };
            let id = match current {
                Some(c) => c.id.clone(),
                None => self.fresh_id(8, |id| keys::authorizer(&api.id, id))?,
            };
            let mut desired = Authorizer {
                id,
                api_id: api.id.clone(),
                name: a.name.clone(),
                r#type: kind as i32,
                identity_source: a.identity_source.clone(),
                ..Default::default()
            };
            if kind == AuthorizerType::Jwt {
                desired.jwt = Some(JwtConfiguration {
                    issuer: a.issuer.clone(),
                    audiences: a.audiences.clone(),
                    jwks_uri: a.jwks_uri.clone(),
                    algorithms: a.algorithms.clone(),
                    leeway_seconds: a.leeway_seconds,
                });
            } else {
                desired.authorizer_uri = a.uri.clone();
                // Absent stays absent, as CreateAuthorizer stores it (the data
                // plane applies the default): an export of an authorizer made
                // through the API applies back unchanged.
                desired.result_ttl_seconds = a.ttl_seconds;
                desired.identity_validation_expression = a.validation_expression.clone();
                desired.timeout_ms = a.timeout_ms;
            }
            let checked = validate::authorizer(&desired)
                .and_then(|()| validate::authorizer_in("authorizer.type", api.protocol(), kind))
                .map_err(|e| rebase(e, "authorizer", &field));
            if self.check(&field, checked)?.is_none() {
                continue;
            }
            // Changed as the document sees it, or not at all: a record
            // differing only in what the document cannot say is kept as
            // stored (no write, no new deployment).
            let entry = Entry {
                kind: "authorizer",
                key: keys::authorizer(&api.id, &desired.id),
                id: desired.id.clone(),
                name: format!("{} {}", api.name, a.name),
                document_path: field,
            };
            after.push(self.write_record(entry, current, desired, export::authorizer_spec));
        }
        for old in &existing {
            if names.taken(&old.name) {
                continue;
            }
            let key = keys::authorizer(&api.id, &old.id);
            let name = format!("{} {}", api.name, old.name);
            if self.leave_or_prune("authorizer", old.id.clone(), name, || [key]) {
                after.push(old.clone());
            }
        }
        Ok(after)
    }
}
