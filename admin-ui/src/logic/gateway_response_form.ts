// The gateway responses section's form, to and from the admin API's
// GatewayResponse: a response type, a status, header mappings and a
// template per media type.
//
// Header mappings are typed as lines, `Name: source` (the
// `gatewayresponse.header.` prefix every key has is added here, and taken
// off for showing), because that is how headers read; templates are rows of
// a media type and a text, because a template spans lines. Mistakes of
// shape (a line without a colon, a header or media type given twice) are
// refused here under the server's field names, so the form shows them
// beside the same inputs as the server's own refusals.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Refusal } from "../api/errors";
import type { GatewayResponse, GatewayResponseSchema } from "../gen/archway/v1/config_pb";
import type { LocalError } from "./method_form";

/** AWS's response types and their default statuses (none: DEFAULT_4XX/5XX, each type's own). */
export const RESPONSE_TYPES: ReadonlyArray<[type: string, status: string | null]> = [
  ["DEFAULT_4XX", null],
  ["DEFAULT_5XX", null],
  ["ACCESS_DENIED", "403"],
  ["API_CONFIGURATION_ERROR", "500"],
  ["AUTHORIZER_CONFIGURATION_ERROR", "500"],
  ["AUTHORIZER_FAILURE", "500"],
  ["BAD_REQUEST_BODY", "400"],
  ["BAD_REQUEST_PARAMETERS", "400"],
  ["EXPIRED_TOKEN", "403"],
  ["INTEGRATION_FAILURE", "502"],
  ["INTEGRATION_TIMEOUT", "504"],
  ["INVALID_API_KEY", "403"],
  ["INVALID_SIGNATURE", "403"],
  ["MISSING_AUTHENTICATION_TOKEN", "403"],
  ["QUOTA_EXCEEDED", "429"],
  ["REQUEST_TOO_LARGE", "413"],
  ["RESOURCE_NOT_FOUND", "404"],
  ["THROTTLED", "429"],
  ["UNAUTHORIZED", "401"],
  ["UNSUPPORTED_MEDIA_TYPE", "415"],
  ["WAF_FILTERED", "403"],
];

export const HEADER_PREFIX = "gatewayresponse.header.";

export interface TemplateRow {
  mediaType: string;
  template: string;
}

export interface GatewayResponseForm {
  type: string;
  /** Empty: the type's default status. */
  statusCode: string;
  /** `Name: source`, one per line. */
  headers: string;
  templates: TemplateRow[];
}

export type GatewayResponseInit = MessageInitShape<typeof GatewayResponseSchema>;

const PARAMETERS = "gateway_response.response_parameters";
const TEMPLATES = "gateway_response.response_templates";

const byKey = <T>([a]: [string, T], [b]: [string, T]) => (a < b ? -1 : a > b ? 1 : 0);

/** The status a type answers with when not customised, for the form's hint. */
export function defaultStatus(type: string): string {
  const found = RESPONSE_TYPES.find(([t]) => t === type);
  if (!found) return "";
  return found[1] ?? (type === "DEFAULT_5XX" ? "each 5XX type's own" : "each 4XX type's own");
}

/** The header mappings as the form shows them: `Name: source` lines, by name. */
export function formatHeaderMappings(params: Record<string, string>): string {
  return Object.entries(params)
    .sort(byKey)
    .map(([k, v]) => `${k.startsWith(HEADER_PREFIX) ? k.slice(HEADER_PREFIX.length) : k}: ${v}`)
    .join("\n");
}

/**
 * `Name: source` lines (a name may carry the `gatewayresponse.header.`
 * prefix) to response_parameters. Blank lines are skipped; the first bad
 * line is refused with its number. Header names compare without case, so
 * `X-A` and `x-a` are one header given twice.
 */
export function parseHeaderMappings(text: string): { params: Record<string, string> } | { error: LocalError } {
  const params: Record<string, string> = {};
  const seen = new Map<string, number>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    const colon = line.indexOf(":");
    const refuse = (reason: string) => ({ error: { field: PARAMETERS, reason: `line ${i + 1} ('${line}') ${reason}` } });
    if (colon <= 0) return refuse("is not 'Name: source', e.g. Access-Control-Allow-Origin: '*'");
    let name = line.slice(0, colon).trim();
    if (name.startsWith(HEADER_PREFIX)) name = name.slice(HEADER_PREFIX.length);
    const source = line.slice(colon + 1).trim();
    if (!name) return refuse("names no header");
    if (!source)
      return refuse("maps the header to nothing: give a quoted constant ('*'), method.request.header.NAME, stageVariables.NAME or context.NAME");
    const earlier = seen.get(name.toLowerCase());
    if (earlier !== undefined) return refuse(`maps header ${name} again (line ${earlier})`);
    seen.set(name.toLowerCase(), i + 1);
    params[HEADER_PREFIX + name] = source;
  }
  return { params };
}

/** The templates as rows, by media type. */
export function templateRows(templates: Record<string, string>): TemplateRow[] {
  return Object.entries(templates)
    .sort(byKey)
    .map(([mediaType, template]) => ({ mediaType, template }));
}

/**
 * Rows to response_templates. A row with neither a media type nor a
 * template is dropped (the row the operator added and left); a template
 * without a media type, or a media type twice (without case, as the server
 * compares them), is refused.
 */
export function templateMap(rows: readonly TemplateRow[]): { templates: Record<string, string> } | { error: LocalError } {
  const templates: Record<string, string> = {};
  const seen = new Set<string>();
  for (const { mediaType, template } of rows) {
    const key = mediaType.trim();
    if (!key && !template.trim()) continue;
    if (!key) return { error: { field: TEMPLATES, reason: "a template has no media type (e.g. application/json)" } };
    if (seen.has(key.toLowerCase())) return { error: { field: TEMPLATES, reason: `media type ${key} is given twice` } };
    seen.add(key.toLowerCase());
    templates[key] = template;
  }
  return { templates };
}

/** The form for `r`, or a new customisation of `type` with a JSON template to edit. */
export function responseToForm(r?: GatewayResponse, type = "DEFAULT_4XX"): GatewayResponseForm {
  if (!r) {
    return {
      type,
      statusCode: "",
      headers: "",
      templates: [{ mediaType: "application/json", template: '{"message": $context.error.messageString}' }],
    };
  }
  return {
    type: r.responseType,
    statusCode: r.statusCode,
    headers: formatHeaderMappings(r.responseParameters),
    templates: templateRows(r.responseTemplates),
  };
}

/** PutGatewayResponse's body (it replaces the type's whole customisation), or the first mistake of shape. */
export function formToGatewayResponse(
  apiId: string,
  f: GatewayResponseForm,
): { gatewayResponse: GatewayResponseInit } | { error: LocalError } {
  const headers = parseHeaderMappings(f.headers);
  if ("error" in headers) return headers;
  const templates = templateMap(f.templates);
  if ("error" in templates) return templates;
  return {
    gatewayResponse: {
      apiId,
      responseType: f.type,
      statusCode: f.statusCode.trim(),
      responseParameters: headers.params,
      responseTemplates: templates.templates,
    },
  };
}

/**
 * The server's reason for one template row: it names an entry as
 * `gateway_response.response_templates["MEDIA/TYPE"]`. Null for rows it
 * did not name.
 */
export function templateRowError(r: Refusal | null | undefined, mediaType: string): string | undefined {
  if (!r) return undefined;
  const entry = `response_templates["${mediaType.trim()}"]`;
  for (const [path, reason] of Object.entries(r.fields)) {
    if (path === entry || path.endsWith(`.${entry}`)) return `${path}: ${reason}`;
  }
  return undefined;
}
