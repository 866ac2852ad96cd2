// The authorizers page's form, to and from the admin API's Authorizer, and
// the update_mask an edit sends: every field the kind has, so that clearing
// a field in the form clears it on the server (a request without a mask
// only changes what it populates, and could never clear anything).
import type { MessageInitShape } from "@bufbuild/protobuf";
import { AuthorizerType, type Authorizer, type AuthorizerSchema } from "../gen/archway/v1/config_pb";
import { type LocalError, parseCount, splitList } from "./method_form";

export type AuthorizerKind = "JWT" | "TOKEN" | "REQUEST";

export interface AuthorizerForm {
  name: string;
  kind: AuthorizerKind;
  identitySource: string;
  // JWT
  issuer: string;
  /** One per line or comma-separated. */
  audiences: string;
  jwksUri: string;
  algorithms: string;
  leewaySeconds: string;
  // TOKEN and REQUEST
  authorizerUri: string;
  /** Empty: the default of 300 s. */
  resultTtlSeconds: string;
  identityValidationExpression: string;
  timeoutMs: string;
}

export type AuthorizerInit = MessageInitShape<typeof AuthorizerSchema>;

const KIND_TYPE: Record<AuthorizerKind, AuthorizerType> = {
  JWT: AuthorizerType.JWT,
  TOKEN: AuthorizerType.TOKEN,
  REQUEST: AuthorizerType.REQUEST,
};

export function kindOf(t: AuthorizerType): AuthorizerKind | null {
  switch (t) {
    case AuthorizerType.JWT:
      return "JWT";
    case AuthorizerType.TOKEN:
      return "TOKEN";
    case AuthorizerType.REQUEST:
      return "REQUEST";
    default:
      return null;
  }
}

export function emptyAuthorizerForm(kind: AuthorizerKind = "JWT"): AuthorizerForm {
  return {
    name: "",
    kind,
    identitySource: "",
    issuer: "",
    audiences: "",
    jwksUri: "",
    algorithms: "",
    leewaySeconds: "",
    authorizerUri: "",
    resultTtlSeconds: "",
    identityValidationExpression: "",
    timeoutMs: "",
  };
}

export function authorizerToForm(a: Authorizer): AuthorizerForm {
  return {
    name: a.name,
    kind: kindOf(a.type) ?? "JWT",
    identitySource: a.identitySource,
    issuer: a.jwt?.issuer ?? "",
    audiences: (a.jwt?.audiences ?? []).join("\n"),
    jwksUri: a.jwt?.jwksUri ?? "",
    algorithms: (a.jwt?.algorithms ?? []).join(", "),
    leewaySeconds: a.jwt?.leewaySeconds ? String(a.jwt.leewaySeconds) : "",
    authorizerUri: a.authorizerUri,
    resultTtlSeconds: a.resultTtlSeconds === undefined ? "" : String(a.resultTtlSeconds),
    identityValidationExpression: a.identityValidationExpression,
    timeoutMs: a.timeoutMs ? String(a.timeoutMs) : "",
  };
}

function count(field: string, text: string, what: string): number | LocalError {
  const n = parseCount(text, 0);
  return n === null ? { field: `authorizer.${field}`, reason: `'${text}' is not a whole number of ${what}` } : n;
}

/**
 * The Authorizer to send (CreateAuthorizer, or UpdateAuthorizer with `id`):
 * only the fields its kind has, so a JWT authorizer never carries a stale
 * URI typed while the form showed another kind.
 */
export function formToAuthorizer(
  apiId: string,
  f: AuthorizerForm,
  id = "",
): { authorizer: AuthorizerInit } | { error: LocalError } {
  const authorizer: AuthorizerInit = {
    id,
    apiId,
    name: f.name.trim(),
    type: KIND_TYPE[f.kind],
    identitySource: f.identitySource.trim(),
  };
  if (f.kind === "JWT") {
    const leeway = count("jwt.leeway_seconds", f.leewaySeconds, "seconds");
    if (typeof leeway !== "number") return { error: leeway };
    authorizer.jwt = {
      issuer: f.issuer.trim(),
      audiences: splitList(f.audiences),
      jwksUri: f.jwksUri.trim(),
      algorithms: splitList(f.algorithms),
      leewaySeconds: leeway,
    };
    return { authorizer };
  }
  authorizer.authorizerUri = f.authorizerUri.trim();
  if (f.resultTtlSeconds.trim() !== "") {
    const ttl = count("result_ttl_seconds", f.resultTtlSeconds, "seconds");
    if (typeof ttl !== "number") return { error: ttl };
    authorizer.resultTtlSeconds = ttl;
  }
  const timeout = count("timeout_ms", f.timeoutMs, "milliseconds");
  if (typeof timeout !== "number") return { error: timeout };
  authorizer.timeoutMs = timeout;
  if (f.kind === "TOKEN") authorizer.identityValidationExpression = f.identityValidationExpression;
  return { authorizer };
}

/** The update_mask of an edit: every field an authorizer of this kind has. */
export function updateMaskFor(kind: AuthorizerKind): string[] {
  if (kind === "JWT") return ["name", "identity_source", "jwt"];
  const custom = ["name", "identity_source", "authorizer_uri", "result_ttl_seconds", "timeout_ms"];
  return kind === "TOKEN" ? [...custom, "identity_validation_expression"] : custom;
}
