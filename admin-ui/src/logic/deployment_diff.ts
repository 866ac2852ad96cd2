// What changed between two deployments of an API: resources, methods, their
// integrations and authorizers, each added, removed or changed (with the
// fields that changed, old → new). Pure logic, so the deployments screen
// only renders it.
//
// Records are matched by id first, then (for what is left) by what an
// operator sees: a resource by its path, a method by its resource and verb,
// an authorizer by its name. So a renamed resource is one change of
// `path_part` / `path`, while a resource deleted and made again with the
// same path (a new id, as an `apply -f` import may do) is no change at all.
// Fields are compared as flat "field.path" → text maps: map entries are
// sorted by key and records by identity, so the order things come in never
// makes a difference.
import {
  type Authorizer,
  AuthorizerType,
  type Deployment,
  type Integration,
  IntegrationType,
  type Method,
  type Resource,
} from "../gen/archway/v1/config_pb";

/** A field that differs: `before` / `after` are undefined where the field is unset. */
export interface FieldChange {
  field: string;
  before?: string;
  after?: string;
}

export interface Change {
  kind: "added" | "removed" | "changed";
  /** What an operator calls it: "/pets/{petId}", "GET /pets", "jwt-users". */
  label: string;
  /** For changed: the fields that differ. For added / removed: every set field. */
  fields: FieldChange[];
}

export interface DeploymentDiff {
  resources: Change[];
  methods: Change[];
  integrations: Change[];
  authorizers: Change[];
}

/** A flat view of a record: field path → its value as text; unset fields are absent. */
type Flat = Record<string, string>;

function put(flat: Flat, field: string, value: string | number | boolean | undefined) {
  if (value === undefined || value === "" || value === false) return;
  flat[field] = String(value);
}

function putList(flat: Flat, field: string, values: readonly string[]) {
  if (values.length) flat[field] = values.join(", ");
}

function putMap(flat: Flat, field: string, map: Record<string, string>) {
  for (const key of Object.keys(map).sort()) flat[`${field}.${key}`] = map[key];
}

function enumName(names: Record<number, string>, value: number, prefix: string): string | undefined {
  if (!value) return undefined;
  return (names[value] ?? String(value)).replace(prefix, "");
}

function flatResource(r: Resource): Flat {
  const f: Flat = {};
  put(f, "path", r.path);
  put(f, "path_part", r.pathPart);
  return f;
}

function flatIntegration(i: Integration | undefined): Flat {
  const f: Flat = {};
  if (!i) return f;
  put(f, "integration.type", enumName(IntegrationType, i.type, ""));
  put(f, "integration.http_method", i.httpMethod);
  put(f, "integration.uri", i.uri);
  put(f, "integration.timeout_ms", i.timeoutMs || undefined);
  if (i.mock) {
    put(f, "integration.mock.status_code", i.mock.statusCode || undefined);
    putMap(f, "integration.mock.headers", i.mock.headers);
    put(f, "integration.mock.body", i.mock.body);
  }
  putList(f, "integration.cache_key_parameters", i.cacheKeyParameters);
  return f;
}

function flatMethod(m: Method, authorizerName: (id: string) => string): Flat {
  const f: Flat = {};
  put(f, "api_key_required", m.apiKeyRequired ? "true" : undefined);
  put(f, "authorization_type", m.authorizationType === "NONE" ? "" : m.authorizationType);
  put(f, "authorizer", m.authorizerId ? authorizerName(m.authorizerId) : "");
  putList(f, "authorization_scopes", m.authorizationScopes);
  return f;
}

function flatAuthorizer(a: Authorizer): Flat {
  const f: Flat = {};
  put(f, "name", a.name);
  put(f, "type", enumName(AuthorizerType, a.type, ""));
  put(f, "identity_source", a.identitySource);
  if (a.jwt) {
    put(f, "jwt.issuer", a.jwt.issuer);
    putList(f, "jwt.audiences", a.jwt.audiences);
    put(f, "jwt.jwks_uri", a.jwt.jwksUri);
    putList(f, "jwt.algorithms", a.jwt.algorithms);
    put(f, "jwt.leeway_seconds", a.jwt.leewaySeconds || undefined);
  }
  put(f, "authorizer_uri", a.authorizerUri);
  put(f, "result_ttl_seconds", a.resultTtlSeconds);
  put(f, "identity_validation_expression", a.identityValidationExpression);
  put(f, "timeout_ms", a.timeoutMs || undefined);
  return f;
}

/** The fields of `a` and `b` that differ, in field order. */
function diffFlat(a: Flat, b: Flat): FieldChange[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys
    .filter((k) => a[k] !== b[k])
    .map((k) => ({ field: k, before: a[k], after: b[k] }));
}

function listed(flat: Flat, side: "before" | "after"): FieldChange[] {
  return Object.keys(flat)
    .sort()
    .map((k) => ({ field: k, [side]: flat[k] }));
}

/**
 * Pairs the records of two sides: by `id` first, then the rest by `alt`
 * (when both sides have exactly one record with that key). Returns the
 * pairs and what is left on each side.
 */
function pair<T>(
  before: readonly T[],
  after: readonly T[],
  id: (t: T) => string,
  alt: (t: T) => string,
): { both: Array<[T, T]>; gone: T[]; added: T[] } {
  const afterById = new Map(after.map((t) => [id(t), t]));
  const both: Array<[T, T]> = [];
  const taken = new Set<T>();
  const restBefore: T[] = [];
  for (const b of before) {
    const a = afterById.get(id(b));
    if (a && !taken.has(a)) {
      both.push([b, a]);
      taken.add(a);
    } else restBefore.push(b);
  }
  const restAfter = after.filter((a) => !taken.has(a));
  const byAlt = new Map<string, T[]>();
  for (const a of restAfter) byAlt.set(alt(a), [...(byAlt.get(alt(a)) ?? []), a]);
  const gone: T[] = [];
  for (const b of restBefore) {
    const candidates = byAlt.get(alt(b));
    if (candidates && candidates.length === 1 && !taken.has(candidates[0])) {
      both.push([b, candidates[0]]);
      taken.add(candidates[0]);
    } else gone.push(b);
  }
  return { both, gone, added: restAfter.filter((a) => !taken.has(a)) };
}

function byLabel(a: Change, b: Change): number {
  return a.label < b.label ? -1 : a.label > b.label ? 1 : 0;
}

/** The differences from deployment `from` to deployment `to`; all four lists are empty when they serve the same thing. */
export function diffDeployments(from: Deployment, to: Deployment): DeploymentDiff {
  const resources: Change[] = [];
  const res = pair(from.resources, to.resources, (r) => r.id, (r) => r.path);
  // Both sides' resource ids, mapped to one identity per matched resource.
  const resourceKey = new Map<string, string>();
  const fromPath = new Map(from.resources.map((r) => [r.id, r.path]));
  const toPath = new Map(to.resources.map((r) => [r.id, r.path]));
  for (const [b, a] of res.both) {
    resourceKey.set(`from:${b.id}`, `r:${a.id}`);
    resourceKey.set(`to:${a.id}`, `r:${a.id}`);
    const fields = diffFlat(flatResource(b), flatResource(a));
    const label = b.path === a.path ? a.path : `${a.path} (was ${b.path})`;
    if (fields.length) resources.push({ kind: "changed", label, fields });
  }
  for (const b of res.gone) {
    resourceKey.set(`from:${b.id}`, `gone:${b.id}`);
    resources.push({ kind: "removed", label: b.path, fields: listed(flatResource(b), "before") });
  }
  for (const a of res.added) {
    resourceKey.set(`to:${a.id}`, `r:${a.id}`);
    resources.push({ kind: "added", label: a.path, fields: listed(flatResource(a), "after") });
  }

  const authorizers: Change[] = [];
  const auth = pair(from.authorizers, to.authorizers, (a) => a.id, (a) => a.name);
  for (const [b, a] of auth.both) {
    const fields = diffFlat(flatAuthorizer(b), flatAuthorizer(a));
    const label = b.name === a.name ? a.name : `${a.name} (was ${b.name})`;
    if (fields.length) authorizers.push({ kind: "changed", label, fields });
  }
  for (const b of auth.gone)
    authorizers.push({ kind: "removed", label: b.name, fields: listed(flatAuthorizer(b), "before") });
  for (const a of auth.added)
    authorizers.push({ kind: "added", label: a.name, fields: listed(flatAuthorizer(a), "after") });

  // Methods name their authorizer by id; show the name, which survives a
  // re-created authorizer.
  const fromAuthName = new Map(from.authorizers.map((a) => [a.id, a.name]));
  const toAuthName = new Map(to.authorizers.map((a) => [a.id, a.name]));
  const fromAuth = (id: string) => fromAuthName.get(id) ?? id;
  const toAuth = (id: string) => toAuthName.get(id) ?? id;

  const methods: Change[] = [];
  const integrations: Change[] = [];
  const methodKey = (side: "from" | "to") => (m: Method) =>
    `${resourceKey.get(`${side}:${m.resourceId}`) ?? `${side}:${m.resourceId}`} ${m.httpMethod}`;
  const fromKey = methodKey("from");
  const toKey = methodKey("to");
  const toByKey = new Map(to.methods.map((m) => [toKey(m), m]));
  const fromKeys = new Set(from.methods.map(fromKey));
  const fromLabel = (m: Method) => `${m.httpMethod} ${fromPath.get(m.resourceId) ?? m.resourceId}`;
  const toLabel = (m: Method) => `${m.httpMethod} ${toPath.get(m.resourceId) ?? m.resourceId}`;
  for (const b of from.methods) {
    const a = toByKey.get(fromKey(b));
    if (!a) {
      const fields = listed({ ...flatMethod(b, fromAuth), ...flatIntegration(b.integration) }, "before");
      methods.push({ kind: "removed", label: fromLabel(b), fields });
      continue;
    }
    const label = fromLabel(b) === toLabel(a) ? toLabel(a) : `${toLabel(a)} (was ${fromLabel(b)})`;
    const fields = diffFlat(flatMethod(b, fromAuth), flatMethod(a, toAuth));
    if (fields.length) methods.push({ kind: "changed", label, fields });
    const before = flatIntegration(b.integration);
    const after = flatIntegration(a.integration);
    const changes = diffFlat(before, after);
    if (changes.length) {
      const kind = !b.integration ? "added" : !a.integration ? "removed" : "changed";
      integrations.push({ kind, label, fields: changes });
    }
  }
  for (const a of to.methods) {
    if (fromKeys.has(toKey(a))) continue;
    const fields = listed({ ...flatMethod(a, toAuth), ...flatIntegration(a.integration) }, "after");
    methods.push({ kind: "added", label: toLabel(a), fields });
  }

  return {
    resources: resources.sort(byLabel),
    methods: methods.sort(byLabel),
    integrations: integrations.sort(byLabel),
    authorizers: authorizers.sort(byLabel),
  };
}

/** Whether nothing differs. */
export function isEmptyDiff(d: DeploymentDiff): boolean {
  return !d.resources.length && !d.methods.length && !d.integrations.length && !d.authorizers.length;
}
