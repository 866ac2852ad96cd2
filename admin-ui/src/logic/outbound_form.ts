// The IAM screen's outbound credential form (the AWS keys nodes sign
// function and service integrations' calls with), to PutOutboundCredential.
//
// The secret and session token go one way: the admin API never returns
// them, so a form opened on a stored credential starts with them empty and
// the operator types the secret again (Put replaces the whole credential,
// and a credential without a secret is refused). They are trimmed of the
// whitespace a paste brings (a trailing newline) and sent as typed
// otherwise; nothing here ever puts them in a message.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { OutboundCredential, OutboundCredentialSchema } from "../gen/archway/v1/config_pb";

export interface OutboundForm {
  name: string;
  description: string;
  roleArn: string;
  accessKeyId: string;
  /** Typed into a password field; never filled from the server. */
  secret: string;
  /** Only for temporary (ASIA…) keys; also never filled from the server. */
  sessionToken: string;
}

export type OutboundInit = MessageInitShape<typeof OutboundCredentialSchema>;

/** The form to replace `c` with (its secret to be typed again), or an empty one. */
export function credentialToForm(c?: OutboundCredential): OutboundForm {
  return {
    name: c?.name ?? "",
    description: c?.description ?? "",
    roleArn: c?.roleArn ?? "",
    accessKeyId: c?.accessKeyId ?? "",
    secret: "",
    sessionToken: "",
  };
}

/** PutOutboundCredential's credential. */
export function formToCredential(f: OutboundForm): OutboundInit {
  return {
    name: f.name.trim(),
    description: f.description,
    roleArn: f.roleArn.trim(),
    accessKeyId: f.accessKeyId.trim(),
    secretAccessKey: f.secret.trim(),
    sessionToken: f.sessionToken.trim(),
  };
}
