// The method page's form, to and from the admin API's Method (with its
// integration inline: one PutMethod saves both, or neither).
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  IntegrationType,
  type Method,
  type MethodSchema,
} from "../gen/archway/v1/config_pb";

export type IntegrationChoice = "HTTP_PROXY" | "MOCK" | "NONE";

export interface MethodForm {
  httpMethod: string;
  authorizationType: string;
  authorizerId: string;
  /** One scope per line or comma-separated (JWT only). */
  scopes: string;
  apiKeyRequired: boolean;
  integrationType: IntegrationChoice;
  /** Verb towards the backend; empty keeps the client's. */
  integrationHttpMethod: string;
  uri: string;
  /** Milliseconds as typed; empty: the default (29000). */
  timeoutMs: string;
  /** One per line or comma-separated. */
  cacheKeyParameters: string;
  mockStatus: string;
  /** `Name: value`, one per line. */
  mockHeaders: string;
  mockBody: string;
}

/** A mistake caught before sending, named as the server would name the field. */
export interface LocalError {
  field: string;
  reason: string;
}

export type MethodInit = MessageInitShape<typeof MethodSchema>;

export function emptyMethodForm(verb: string): MethodForm {
  return {
    httpMethod: verb,
    authorizationType: "NONE",
    authorizerId: "",
    scopes: "",
    apiKeyRequired: false,
    integrationType: "HTTP_PROXY",
    integrationHttpMethod: "",
    uri: "",
    timeoutMs: "",
    cacheKeyParameters: "",
    mockStatus: "200",
    mockHeaders: "",
    mockBody: "",
  };
}

export function methodToForm(m: Method): MethodForm {
  const i = m.integration;
  const integrationType: IntegrationChoice = !i
    ? "NONE"
    : i.type === IntegrationType.MOCK
      ? "MOCK"
      : "HTTP_PROXY";
  return {
    httpMethod: m.httpMethod,
    authorizationType: (m.authorizationType || "NONE").toUpperCase(),
    authorizerId: m.authorizerId,
    scopes: m.authorizationScopes.join("\n"),
    apiKeyRequired: m.apiKeyRequired,
    integrationType,
    // "ANY" and empty both keep the client's verb; the form offers the one choice.
    integrationHttpMethod: backendVerb(i?.httpMethod ?? ""),
    uri: i?.uri ?? "",
    timeoutMs: i?.timeoutMs ? String(i.timeoutMs) : "",
    cacheKeyParameters: (i?.cacheKeyParameters ?? []).join("\n"),
    mockStatus: i?.mock ? String(i.mock.statusCode) : "200",
    mockHeaders: Object.entries(i?.mock?.headers ?? {})
      .map(([k, v]) => `${k}: ${v}`)
      .join("\n"),
    mockBody: i?.mock?.body ?? "",
  };
}

function backendVerb(verb: string): string {
  const v = verb.toUpperCase();
  return v === "ANY" ? "" : v;
}

/** Items of a list typed one per line or separated by commas, blanks dropped. */
export function splitList(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** A whole non-negative number as typed; empty is `empty`. */
export function parseCount(text: string, empty: number): number | null {
  const t = text.trim();
  if (t === "") return empty;
  if (!/^\d+$/.test(t)) return null;
  const n = Number(t);
  return n <= 0xffffffff ? n : null;
}

/** `Name: value` lines to a map; an error names the first bad line. */
export function parseHeaders(text: string): { headers: Record<string, string> } | { error: LocalError } {
  const headers: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    const colon = line.indexOf(":");
    if (colon <= 0) {
      return {
        error: {
          field: "method.integration.mock.headers",
          reason: `line ${i + 1} ('${line}') is not 'Name: value'`,
        },
      };
    }
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return { headers };
}

/**
 * The PutMethod body for this form. Numbers that are not numbers are
 * refused here (they could not be sent); everything else is the server's
 * to judge, so its refusals name the fields as the form does.
 */
export function formToMethod(
  apiId: string,
  resourceId: string,
  f: MethodForm,
): { method: MethodInit } | { error: LocalError } {
  const authorizationType = f.authorizationType.toUpperCase();
  const usesAuthorizer = authorizationType === "JWT" || authorizationType === "CUSTOM";
  const method: MethodInit = {
    apiId,
    resourceId,
    httpMethod: f.httpMethod,
    authorizationType,
    authorizerId: usesAuthorizer ? f.authorizerId : "",
    authorizationScopes: authorizationType === "JWT" ? splitList(f.scopes) : [],
    apiKeyRequired: f.apiKeyRequired,
  };
  if (f.integrationType === "NONE") return { method };
  const timeoutMs = parseCount(f.timeoutMs, 0);
  if (timeoutMs === null) {
    return {
      error: { field: "method.integration.timeout_ms", reason: `'${f.timeoutMs}' is not a whole number of milliseconds` },
    };
  }
  const cacheKeyParameters = splitList(f.cacheKeyParameters);
  if (f.integrationType === "HTTP_PROXY") {
    method.integration = {
      type: IntegrationType.HTTP_PROXY,
      httpMethod: f.integrationHttpMethod,
      uri: f.uri.trim(),
      timeoutMs,
      cacheKeyParameters,
    };
    return { method };
  }
  const statusCode = parseCount(f.mockStatus, 0);
  if (statusCode === null) {
    return { error: { field: "method.integration.mock.status_code", reason: `'${f.mockStatus}' is not a status code` } };
  }
  const parsed = parseHeaders(f.mockHeaders);
  if ("error" in parsed) return parsed;
  method.integration = {
    type: IntegrationType.MOCK,
    timeoutMs,
    cacheKeyParameters,
    mock: { statusCode, headers: parsed.headers, body: f.mockBody },
  };
  return { method };
}
