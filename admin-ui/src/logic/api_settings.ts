// The API's own settings form and the UpdateRestApi it sends: exactly the
// fields the operator changed, named in update_mask, so that emptying the
// description or the resource policy clears it and nothing else is touched.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { ApiKeySource, EndpointType, type RestApi } from "../gen/archway/v1/config_pb";
import type { UpdateRestApiRequestSchema } from "../gen/archway/v1/admin_pb";

export interface ApiSettingsForm {
  name: string;
  description: string;
  apiKeySource: ApiKeySource;
  endpointType: EndpointType;
  policy: string;
}

export function apiToSettings(api: RestApi): ApiSettingsForm {
  return {
    name: api.name,
    description: api.description,
    apiKeySource: api.apiKeySource,
    endpointType: api.endpointType,
    policy: api.policy,
  };
}

export type UpdateRestApiInit = MessageInitShape<typeof UpdateRestApiRequestSchema>;

/** The request for what changed since `api`; null when nothing did. */
export function settingsUpdate(api: RestApi, f: ApiSettingsForm): UpdateRestApiInit | null {
  const paths: string[] = [];
  if (f.name !== api.name) paths.push("name");
  if (f.description !== api.description) paths.push("description");
  if (f.apiKeySource !== api.apiKeySource) paths.push("api_key_source");
  if (f.endpointType !== api.endpointType) paths.push("endpoint_type");
  // Whitespace-only edits of the JSON still count: the operator saw them.
  if (f.policy !== api.policy) paths.push("policy");
  if (paths.length === 0) return null;
  return {
    apiId: api.id,
    name: f.name,
    description: f.description,
    apiKeySource: f.apiKeySource,
    endpointType: f.endpointType,
    policy: f.policy,
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
