// The models section's form (an API's JSON Schemas), to and from the admin
// API's Model, and the schema checks made before sending.
//
// The server compiles every schema as draft 4 and refuses one that does not
// compile, naming `model.schema`; what the browser checks first is only
// what it can tell for certain without the API's other models (empty, not
// JSON, not an object), so that a typo is shown at once beside the
// textarea, with the line and column, in the words the server would use.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Model, ModelSchema } from "../gen/archway/v1/config_pb";
import type { LocalError } from "./method_form";
import { type MaskReaders, changedPaths } from "./update_mask";

export interface ModelForm {
  name: string;
  contentType: string;
  description: string;
  /** The schema as typed: sent as written (the server keeps the text). */
  schema: string;
}

export type ModelInit = MessageInitShape<typeof ModelSchema>;

/** What a new model starts with: an object schema to edit. */
export const SCHEMA_TEMPLATE = `{
  "$schema": "http://json-schema.org/draft-04/schema#",
  "type": "object",
  "properties": {}
}`;

export function modelToForm(m?: Model): ModelForm {
  return {
    name: m?.name ?? "",
    contentType: m?.contentType || "application/json",
    description: m?.description ?? "",
    schema: m?.schema ?? SCHEMA_TEMPLATE,
  };
}

/** The kind of a parsed JSON value, in JSON's words. */
function jsonKind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "string" ? "a string" : typeof v === "number" ? "a number" : typeof v === "boolean" ? "a boolean" : typeof v;
}

/** 1-based line and column of `offset` in `text`. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}

/**
 * Why `text` cannot be a model's schema, as a refusal of `model.schema`, or
 * null when it may be sent. Engines word JSON.parse errors differently and
 * not all give a line: when the message has a position, its line and
 * column are added, as an operator looks for a line in the textarea.
 */
export function schemaProblem(text: string): LocalError | null {
  const field = "model.schema";
  if (text.trim() === "") return { field, reason: "is required (a JSON Schema, draft 4)" };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const at = /position (\d+)/.exec(message);
    let where = "";
    if (at && !/line \d+/.test(message)) {
      const { line, column } = lineColumn(text, Number(at[1]));
      where = ` (line ${line} column ${column})`;
    }
    return { field, reason: `is not JSON: ${message}${where}` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { field, reason: `must be a JSON object (a draft 4 schema), not ${jsonKind(value)}` };
  }
  return null;
}

/** The schema re-indented (two spaces), or the text unchanged when it is not JSON. */
export function formatSchema(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** CreateModel's model, or the local refusal of its schema. */
export function formToModel(apiId: string, f: ModelForm): { model: ModelInit } | { error: LocalError } {
  const problem = schemaProblem(f.schema);
  if (problem) return { error: problem };
  return {
    model: {
      apiId,
      name: f.name.trim(),
      description: f.description,
      contentType: f.contentType.trim(),
      schema: f.schema,
    },
  };
}

const READ: MaskReaders<ModelForm> = {
  description: (f) => f.description,
  schema: (f) => f.schema,
  content_type: (f) => f.contentType.trim(),
};

/**
 * UpdateModel's request for an edit of `before`: the name cannot change
 * (methods and models name it), and the mask names only what did, so an
 * edit of the description never resends a schema someone else just
 * changed. Null when nothing changed; an error when the schema cannot be
 * sent.
 */
export function modelUpdate(
  before: Model,
  f: ModelForm,
): { model: ModelInit; updateMask: { paths: string[] } } | { error: LocalError } | null {
  const paths = changedPaths(READ, modelToForm(before), f);
  if (paths.length === 0) return null;
  if (paths.includes("schema")) {
    const problem = schemaProblem(f.schema);
    if (problem) return { error: problem };
  }
  return {
    model: { apiId: before.apiId, name: before.name, description: f.description, contentType: f.contentType.trim(), schema: f.schema },
    updateMask: { paths },
  };
}

/** The models a schema refers to by AWS's model URL (`…/restapis/{api}/models/{name}`), each once, for the list. */
export function referencedModels(schema: string): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (typeof v !== "object" || v === null) return;
    for (const [k, child] of Object.entries(v)) {
      if (k === "$ref" && typeof child === "string") {
        const m = /\/restapis\/[^/]+\/models\/([^/#]+)/.exec(child);
        if (m && !out.includes(m[1])) out.push(m[1]);
      }
      walk(child);
    }
  };
  try {
    walk(JSON.parse(schema));
  } catch {
    // A stored schema is always JSON; nothing to list otherwise.
  }
  return out;
}
