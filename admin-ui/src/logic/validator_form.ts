// The request validators section's form, to and from the admin API's
// RequestValidator. A validator is only a name and two switches; what it
// checks lives on the methods that name it (their request parameters and
// request models), so the list says that in words.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RequestValidator, RequestValidatorSchema } from "../gen/archway/v1/config_pb";
import { type MaskReaders, changedPaths } from "./update_mask";

export interface ValidatorForm {
  name: string;
  body: boolean;
  parameters: boolean;
}

export type ValidatorInit = MessageInitShape<typeof RequestValidatorSchema>;

/** The form for `v`, or a new one that checks both (AWS's "Validate body, query string parameters, and headers"). */
export function validatorToForm(v?: RequestValidator): ValidatorForm {
  return {
    name: v?.name ?? "",
    body: v ? v.validateRequestBody : true,
    parameters: v ? v.validateRequestParameters : true,
  };
}

/** CreateRequestValidator's validator. */
export function formToValidator(apiId: string, f: ValidatorForm): ValidatorInit {
  return { apiId, name: f.name.trim(), validateRequestBody: f.body, validateRequestParameters: f.parameters };
}

const READ: MaskReaders<ValidatorForm> = {
  name: (f) => f.name.trim(),
  validate_request_body: (f) => f.body,
  validate_request_parameters: (f) => f.parameters,
};

/**
 * UpdateRequestValidator's request for an edit of `before` (a rename is
 * allowed: methods name validators by id), its mask naming only what
 * changed; null when nothing did.
 */
export function validatorUpdate(
  before: RequestValidator,
  f: ValidatorForm,
): { requestValidator: ValidatorInit; updateMask: { paths: string[] } } | null {
  const paths = changedPaths(READ, validatorToForm(before), f);
  if (paths.length === 0) return null;
  return {
    requestValidator: { ...formToValidator(before.apiId, f), id: before.id },
    updateMask: { paths },
  };
}

/** What a validator checks, for the list. */
export function validatorChecks(v: { validateRequestBody: boolean; validateRequestParameters: boolean }): string {
  if (v.validateRequestBody && v.validateRequestParameters) return "body and parameters";
  if (v.validateRequestBody) return "body";
  if (v.validateRequestParameters) return "parameters";
  return "nothing";
}
