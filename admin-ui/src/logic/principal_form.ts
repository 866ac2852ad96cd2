// IAM principal form helpers: which policy textarea a refusal belongs to,
// and the update_mask of an edit.
//
// The server names a policy's problem by its index and the place inside the
// document, e.g. `principal.policies[1].Statement[0].Action: ...` or
// `principal.policies[0].document: not valid JSON: ...`; the form has one
// textarea per policy, so everything under `principal.policies[i]` is that
// textarea's, and `principal.policies` itself (too many) is the list's.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Refusal } from "../api/errors";
import { type IamPrincipal, type IamPrincipalSchema, PrincipalType } from "../gen/archway/v1/config_pb";
import { changedPaths } from "./update_mask";

const POLICY = /^(?:principal\.)?policies\[(\d+)\]/;

/** The refusal's reason for policy `index` (0-based), with the path the server gave. */
export function policyError(r: Refusal | null | undefined, index: number): string | undefined {
  if (!r) return undefined;
  for (const [path, reason] of Object.entries(r.fields)) {
    const m = POLICY.exec(path);
    if (m && Number(m[1]) === index) return `${path}: ${reason}`;
  }
  return undefined;
}

/** The refusal's fields a policy textarea (or the policy list) shows: for `<Failure fields>`. */
export function policyPaths(r: Refusal | null | undefined): string[] {
  if (!r) return [];
  return Object.keys(r.fields).filter((p) => POLICY.test(p) || /^(?:principal\.)?policies$/.test(p));
}

interface PrincipalEdit {
  description: string;
  policies: string[];
}

const PRINCIPAL_FIELDS = {
  description: (p: PrincipalEdit) => p.description,
  policies: (p: PrincipalEdit) => p.policies,
};

/** UpdatePrincipal's update_mask: description and/or policies, as they changed. */
export function principalMask(before: PrincipalEdit, after: PrincipalEdit): string[] {
  return changedPaths(PRINCIPAL_FIELDS, before, after);
}

/** The create / edit form: `type` as the Select holds it (the enum's number, as text). */
export interface PrincipalForm {
  name: string;
  type: string;
  description: string;
  /** One JSON document per textarea, sent as written (the server parses and checks them). */
  policies: string[];
}

/** The form for `p`, or an empty one (a user, no policies) to create with. */
export function principalToForm(p?: IamPrincipal): PrincipalForm {
  return {
    name: p?.name ?? "",
    type: String(p?.type ?? PrincipalType.USER),
    description: p?.description ?? "",
    policies: p ? [...p.policies] : [],
  };
}

export type PrincipalInit = MessageInitShape<typeof IamPrincipalSchema>;

/** CreatePrincipal's principal. */
export function formToPrincipal(f: PrincipalForm): PrincipalInit {
  return { name: f.name, type: Number(f.type), description: f.description, policies: f.policies };
}

/**
 * UpdatePrincipal's request for an edit of `before`: only description and
 * policies can change (name and type are the principal's identity), and the
 * mask names those that did.
 */
export function principalUpdate(before: IamPrincipal, f: PrincipalForm): { principal: PrincipalInit; updateMask: { paths: string[] } } {
  const after = { description: f.description, policies: f.policies };
  return { principal: { name: before.name, ...after }, updateMask: { paths: principalMask(before, after) } };
}

/** A starting point for a new policy: allows invoking every API (edit it). */
export const POLICY_TEMPLATE = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "execute-api:Invoke",
      "Resource": "arn:aws:execute-api:*:*:*/*/*/*"
    }
  ]
}`;
