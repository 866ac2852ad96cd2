// The API's own settings form and the UpdateRestApi it sends: exactly the
// fields the operator changed, named in update_mask, so that emptying the
// description or the resource policy clears it and nothing else is touched.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { ApiKeySource, EndpointType, type RestApi } from "../gen/archway/v1/config_pb";
import type { UpdateRestApiRequestSchema } from "../gen/archway/v1/admin_pb";
import { changedPaths } from "./update_mask";

export interface ApiSettingsForm {
  name: string;
  description: string;
  apiKeySource: ApiKeySource;
  endpointType: EndpointType;
  policy: string;
  /** WEBSOCKET APIs only (required there). */
  routeSelectionExpression: string;
}

export function apiToSettings(api: RestApi): ApiSettingsForm {
  return {
    name: api.name,
    description: api.description,
    apiKeySource: api.apiKeySource,
    endpointType: api.endpointType,
    policy: api.policy,
    routeSelectionExpression: api.routeSelectionExpression,
  };
}

const SETTINGS_FIELDS = {
  name: (f: ApiSettingsForm) => f.name,
  description: (f: ApiSettingsForm) => f.description,
  api_key_source: (f: ApiSettingsForm) => f.apiKeySource,
  endpoint_type: (f: ApiSettingsForm) => f.endpointType,
  // Whitespace-only edits of the JSON still count: the operator saw them.
  policy: (f: ApiSettingsForm) => f.policy,
  route_selection_expression: (f: ApiSettingsForm) => f.routeSelectionExpression,
};

export type UpdateRestApiInit = MessageInitShape<typeof UpdateRestApiRequestSchema>;

/** The request for what changed since `api`; null when nothing did. */
export function settingsUpdate(api: RestApi, f: ApiSettingsForm): UpdateRestApiInit | null {
  const paths = changedPaths(SETTINGS_FIELDS, apiToSettings(api), f);
  if (paths.length === 0) return null;
  return {
    apiId: api.id,
    name: f.name,
    description: f.description,
    apiKeySource: f.apiKeySource,
    endpointType: f.endpointType,
    policy: f.policy,
    routeSelectionExpression: f.routeSelectionExpression,
    updateMask: { paths },
  };
}

/** The policy laid out for reading; the text as it is when it is not JSON. */
export function formatPolicy(text: string): string {
  if (!text.trim()) return text;
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
