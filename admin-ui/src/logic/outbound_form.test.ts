import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { OutboundCredentialSchema } from "../gen/archway/v1/config_pb";
import { credentialToForm, formToCredential } from "./outbound_form";

describe("outbound credential form", () => {
  it("opens a stored credential with its secret and token empty, whatever the message held", () => {
    const stored = create(OutboundCredentialSchema, {
      name: "lambda-caller",
      description: "calls work",
      roleArn: "arn:aws:iam::123456789012:role/caller",
      accessKeyId: "AKIAIOSFODNN7EXAMPLE",
      // The server clears these; the form must not rely on it.
      secretAccessKey: "leaked",
      sessionToken: "leaked too",
    });
    expect(credentialToForm(stored)).toEqual({
      name: "lambda-caller",
      description: "calls work",
      roleArn: "arn:aws:iam::123456789012:role/caller",
      accessKeyId: "AKIAIOSFODNN7EXAMPLE",
      secret: "",
      sessionToken: "",
    });
    expect(credentialToForm()).toEqual({ name: "", description: "", roleArn: "", accessKeyId: "", secret: "", sessionToken: "" });
  });

  it("sends the secret as typed less a paste's whitespace, and trims the identifiers", () => {
    const out = formToCredential({
      name: " ci ",
      description: " kept as typed ",
      roleArn: " ",
      accessKeyId: " AKIAIOSFODNN7EXAMPLE\n",
      secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
      sessionToken: "",
    });
    expect(out).toEqual({
      name: "ci",
      description: " kept as typed ",
      roleArn: "",
      accessKeyId: "AKIAIOSFODNN7EXAMPLE",
      secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      sessionToken: "",
    });
  });
});
