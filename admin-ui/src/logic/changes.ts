// What a configuration document would change (DiffConfiguration) or changed
// (ApplyConfiguration), shaped for the import page, and the document's
// errors placed at their lines.
import { ChangeAction, type ConfigurationChange, type DocumentError } from "../gen/archway/v1/configuration_pb";
import type { Refusal } from "../api/errors";

export type ActionName = "create" | "update" | "delete" | "keep";

export function actionName(a: ChangeAction): ActionName | "unknown" {
  switch (a) {
    case ChangeAction.CREATE:
      return "create";
    case ChangeAction.UPDATE:
      return "update";
    case ChangeAction.DELETE:
      return "delete";
    case ChangeAction.KEEP:
      return "keep";
    default:
      return "unknown";
  }
}

export interface ChangeCounts {
  create: number;
  update: number;
  delete: number;
  keep: number;
}

export function countChanges(changes: ConfigurationChange[]): ChangeCounts {
  const counts: ChangeCounts = { create: 0, update: 0, delete: 0, keep: 0 };
  for (const c of changes) {
    const a = actionName(c.action);
    if (a !== "unknown") counts[a]++;
  }
  return counts;
}

/** "2 to create, 1 to update, 1 to delete; 3 left alone" (or that nothing changes). */
export function summarise(changes: ConfigurationChange[], done = false): string {
  const c = countChanges(changes);
  const verb = (n: number, what: string, past: string) => (done ? `${n} ${past}` : `${n} to ${what}`);
  const parts: string[] = [];
  if (c.create) parts.push(verb(c.create, "create", "created"));
  if (c.update) parts.push(verb(c.update, "update", "updated"));
  if (c.delete) parts.push(verb(c.delete, "delete", "deleted"));
  let text = parts.length ? parts.join(", ") : done ? "Nothing changed" : "Nothing to change";
  if (c.keep) text += `; ${c.keep} left alone (not in the document; prune deletes them)`;
  return text;
}

/** A document error with where it is in the text, when that can be found. */
export interface PlacedError {
  path: string;
  message: string;
  line?: number;
  column?: number;
}

/**
 * The errors of a refused document: the response's `errors` (the page asks
 * for errors_in_response), or else those a status carried (BadRequest
 * details, or the message's `path: reason` lines).
 */
export function documentErrors(
  text: string,
  from: { errors?: DocumentError[]; refusal?: Refusal | null },
): PlacedError[] {
  let raw: Array<{ path: string; message: string }> = [];
  if (from.errors && from.errors.length) {
    raw = from.errors.map((e) => ({ path: e.path, message: e.message }));
  } else if (from.refusal) {
    const fields = Object.entries(from.refusal.fields);
    const lines = from.refusal.message.split("\n").filter((l) => l.trim() !== "");
    if (lines.length > 1 || fields.length === 0) {
      raw = lines.map((l) => {
        const m = /^([^\s:]+): (.*)$/s.exec(l);
        if (!m) return { path: "", message: l };
        return { path: m[1] === "document" ? "" : m[1], message: m[2] };
      });
    } else {
      raw = fields.map(([path, message]) => ({ path, message }));
    }
  }
  const index = indexDocument(text);
  return raw.map((e) => {
    const syntax = /^line (\d+), column (\d+)/.exec(e.message);
    if (syntax) return { ...e, line: Number(syntax[1]), column: Number(syntax[2]) };
    const at = e.path ? locate(index, e.path) : undefined;
    return at ? { ...e, line: at.line, column: at.column } : e;
  });
}

/**
 * A syntax error's message without the "line N, column N:" it starts with,
 * once that place is shown beside it (as a link to the line); a message
 * that was not placed is kept whole, so the place is not lost.
 */
export function withoutPlace(e: PlacedError): string {
  return e.line !== undefined ? e.message.replace(/^line \d+, column \d+:\s*/, "") : e.message;
}

/**
 * Where the nodes of a document start, by document path
 * (`apis[0].routes[2].integration`) as the server names them. YAML is read
 * by indentation (block style); flow collections (`{ a: 1 }`) are not
 * entered, so an error inside one is placed at the nearest enclosing node
 * (see `locate`). A JSON document is read by its brackets. Good enough to
 * point at a line; the server remains the parser.
 */
export function indexDocument(text: string): DocIndex {
  return /^\s*[[{]/.test(text) ? indexJson(text) : indexYaml(text);
}

/** Path → 1-based line and column of where that node starts. */
export type DocIndex = Map<string, { line: number; column: number }>;

const join = (base: string, key: string) => (base ? `${base}.${key}` : key);

function indexYaml(text: string): DocIndex {
  const index: DocIndex = new Map();
  type Frame = { indent: number; path: string; seq: boolean; next: number };
  const stack: Frame[] = [];
  // A node whose value has not started yet: anything deeper (or a "- " at
  // the same indent, YAML allows that for a key's list) belongs to it.
  let pending: { path: string; indent: number; key: boolean } | null = { path: "", indent: -1, key: true };
  const top = () => stack[stack.length - 1] as Frame | undefined;
  const lines = text.split("\n");
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].replace(/\r$/, "");
    if (/^\s*(#.*)?$/.test(line) || /^(---|\.\.\.)(\s|$)/.test(line)) continue;
    let col = line.length - line.trimStart().length;
    for (let guard = 0; guard < 32 && col < line.length; guard++) {
      const rest = line.slice(col);
      const item = /^-(\s+|$)/.exec(rest);
      const key = item
        ? null
        : /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#:{}[\],"'][^#:]*?)\s*:(?:\s+|$)/.exec(rest);
      if (!item && !key) {
        pending = null;
        break;
      }
      if (item) {
        if (pending && (col > pending.indent || (col === pending.indent && pending.key))) {
          stack.push({ indent: col, path: pending.path, seq: true, next: 0 });
        } else {
          while (stack.length && (top()!.indent > col || (top()!.indent === col && !top()!.seq))) stack.pop();
          if (!top() || top()!.indent !== col) break; // not a list we know: skip the line
        }
        const seq = top()!;
        const path = `${seq.path}[${seq.next++}]`;
        index.set(path, { line: n + 1, column: col + 1 });
        pending = { path, indent: col, key: false };
        col += item[0].length;
        continue;
      }
      if (pending && col > pending.indent) {
        stack.push({ indent: col, path: pending.path, seq: false, next: 0 });
      } else {
        while (stack.length && (top()!.indent > col || (top()!.indent === col && top()!.seq))) stack.pop();
        if (!top() || top()!.indent !== col) {
          pending = null;
          break;
        }
      }
      pending = null;
      let name = key![1];
      if (name.startsWith('"')) name = JSON.parse(name) as string;
      else if (name.startsWith("'")) name = name.slice(1, -1).replace(/''/g, "'");
      const path = join(top()!.path, name.trim());
      index.set(path, { line: n + 1, column: col + 1 });
      const after = rest.slice(key![0].length);
      if (after.trim() === "" || after.trimStart().startsWith("#")) pending = { path, indent: col, key: true };
      // A value on the same line (a scalar or a flow collection) opens nothing we follow.
      break;
    }
  }
  return index;
}

function indexJson(text: string): DocIndex {
  const index: DocIndex = new Map();
  type Frame = { path: string; array: boolean; next: number; key: string | null };
  const stack: Frame[] = [];
  let line = 1;
  let lineStart = 0;
  const here = (i: number) => ({ line, column: i - lineStart + 1 });
  /** The path of a value starting now, in the innermost container. */
  const valuePath = (): string | null => {
    const f = stack[stack.length - 1];
    if (!f) return "";
    if (f.array) return `${f.path}[${f.next++}]`;
    if (f.key === null) return null;
    const p = join(f.path, f.key);
    f.key = null;
    return p;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "\n") {
      line++;
      lineStart = i + 1;
      continue;
    }
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"' && text[j] !== "\n") j += text[j] === "\\" ? 2 : 1;
      const raw = text.slice(i, j + 1);
      const f = stack[stack.length - 1];
      // A string is a key when it is followed by ':' inside an object.
      const isKey = f && !f.array && f.key === null && /^\s*:/.test(text.slice(j + 1, j + 40));
      if (isKey) {
        try {
          f.key = JSON.parse(raw) as string;
        } catch {
          f.key = raw.slice(1, -1);
        }
        index.set(join(f.path, f.key), here(i));
      } else {
        const p = valuePath();
        if (p && !index.has(p)) index.set(p, here(i));
      }
      i = j;
      continue;
    }
    if (ch === "{" || ch === "[") {
      const p = valuePath() ?? "";
      if (p && !index.has(p)) index.set(p, here(i));
      stack.push({ path: p, array: ch === "[", next: 0, key: null });
    } else if (ch === "}" || ch === "]") {
      stack.pop();
    } else if (/[-0-9tfn]/.test(ch)) {
      const p = valuePath();
      if (p && !index.has(p)) index.set(p, here(i));
      while (i + 1 < text.length && /[-+.0-9eEa-z]/.test(text[i + 1])) i++;
    }
  }
  return index;
}

/** The line of `path`, or of the nearest enclosing node the index has. */
export function locate(index: DocIndex, path: string): { line: number; column: number } | undefined {
  let p = path;
  while (p) {
    const at = index.get(p);
    if (at) return at;
    const cut = Math.max(p.lastIndexOf("."), p.lastIndexOf("["));
    if (cut <= 0) break;
    p = p.slice(0, cut);
  }
  return undefined;
}

/** The character offset of a 1-based line and column in `text` (clamped), to put the caret there. */
export function offsetOf(text: string, line: number, column = 1): number {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf("\n", offset);
    if (nl < 0) return text.length;
    offset = nl + 1;
  }
  const end = text.indexOf("\n", offset);
  const lineEnd = end < 0 ? text.length : end;
  return Math.min(offset + Math.max(0, column - 1), lineEnd);
}
