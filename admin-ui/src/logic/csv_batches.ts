// Splitting an API key CSV file into batches for ImportApiKeys.
//
// The server takes one CSV text per call and imports all of its rows or
// none (one store transaction), so a 10,000-row file sent at once either
// lands whole or not at all, with no progress to show meanwhile. The UI
// sends it as batches instead: each is the header line followed by a slice
// of the rows, cut only between records (a quoted field may hold commas and
// line breaks), so the server reads each batch exactly as it would have read
// those rows in the whole file. A refusal names "csv line N" of its batch;
// `locate` turns that back into the row and line of the operator's file.
import { type Refusal, refusal } from "../api/errors";

/** One data record of the file, as its raw text (without the line break that ends it). */
export interface CsvRow {
  text: string;
  /** 1-based line of the file where the record starts (a quoted field may span lines). */
  line: number;
}

export interface CsvFile {
  header: string;
  /** 1-based line of the header. */
  headerLine: number;
  rows: CsvRow[];
}

export interface Batch {
  /** 0-based. */
  index: number;
  /** The text sent: header, then the rows, each ending in "\n". */
  csv: string;
  /** 0-based index in `CsvFile.rows` of the batch's first row. */
  firstRow: number;
  rows: CsvRow[];
}

export class CsvShapeError extends Error {}

/**
 * The header and data records of a CSV text: a leading byte-order mark is
 * dropped, records end at LF, CRLF or CR outside quotes, `""` inside quotes
 * is a quote, and blank lines are skipped (the server skips them too).
 */
export function splitCsv(text: string): CsvFile {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const records: CsvRow[] = [];
  let start = 0;
  let line = 1;
  let startLine = 1;
  let quoted = false;
  const push = (end: number) => {
    const t = src.slice(start, end);
    if (t.trim() !== "") records.push({ text: t, line: startLine });
  };
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '"') {
      // Opening, closing, or one half of an escaped "" (which toggles twice).
      quoted = !quoted;
    } else if (c === "\n" || c === "\r") {
      const crlf = c === "\r" && src[i + 1] === "\n";
      if (!quoted) {
        push(i);
        start = i + (crlf ? 2 : 1);
        startLine = line + 1;
      }
      if (crlf) i++;
      line++;
    }
  }
  if (quoted) {
    throw new CsvShapeError(`line ${startLine}: a quoted field is not closed before the end of the file`);
  }
  push(src.length);
  const [header, ...rows] = records;
  if (!header) throw new CsvShapeError("the file is empty: it needs a header line (name,key,...) and rows");
  if (rows.length === 0) throw new CsvShapeError("the file has a header line but no rows");
  return { header: header.text, headerLine: header.line, rows };
}

/** The file's rows in batches of at most `size`, each with the header repeated. */
export function batches(file: CsvFile, size = 500): Batch[] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`batch size ${size}`);
  const out: Batch[] = [];
  for (let first = 0; first < file.rows.length; first += size) {
    const rows = file.rows.slice(first, first + size);
    out.push({
      index: out.length,
      firstRow: first,
      rows,
      csv: `${file.header}\n${rows.map((r) => r.text).join("\n")}\n`,
    });
  }
  return out;
}

export interface Located {
  /** 1-based data row of the file (the header is not a row). */
  row: number;
  /** 1-based line of the file where that row starts. */
  line: number;
  /** The server's message with its batch-relative "csv line N" put in the file's terms. */
  message: string;
}

/**
 * Where in the file a refusal of `batch` points. The server numbers a
 * batch's records from 2 (the header is line 1) and names them as
 * "csv line N" (a row's field or the row) or "csv: line N: ..." (a row that
 * does not parse). Undefined when the message names no row.
 */
export function locate(batch: Batch, message: string): Located | undefined {
  const m = /csv(?::)? line (\d+)((?:\.[A-Za-z_][\w]*)*)/.exec(message);
  if (!m) return undefined;
  const i = Number(m[1]) - 2;
  const row = batch.rows[i];
  if (i < 0 || !row) return undefined;
  const n = batch.firstRow + i + 1;
  return {
    row: n,
    line: row.line,
    message: message.replace(m[0], `row ${n} (line ${row.line} of the file)${m[2] ? `, ${m[2].slice(1)}` : ""}`),
  };
}

/** How an import ended: every batch sent, stopped by the operator, or a batch refused. */
export type Outcome =
  | { kind: "done"; imported: number }
  | { kind: "stopped"; imported: number; nextRow: number }
  | { kind: "refused"; imported: number; batch: Batch; of: number; failure: Refusal; where: string };

export interface Progress {
  /** Keys imported so far. */
  done: number;
  /** 1-based batch being sent. */
  batch: number;
}

/**
 * Sends `batches` one after another with `send` (which answers how many
 * keys the batch imported). Before each batch it reports progress and asks
 * `stopped`, so a stop takes effect after the batch in flight; the first
 * refusal ends the import, its batch-relative row put in the file's terms.
 */
export async function importBatches(
  all: Batch[],
  send: (csv: string) => Promise<number>,
  onProgress: (p: Progress) => void,
  stopped: () => boolean,
): Promise<Outcome> {
  let imported = 0;
  for (const b of all) {
    if (stopped()) return { kind: "stopped", imported, nextRow: b.firstRow + 1 };
    onProgress({ done: imported, batch: b.index + 1 });
    try {
      imported += await send(b.csv);
    } catch (e) {
      const failure = refusal(e);
      const at = locate(b, failure.message);
      return { kind: "refused", imported, batch: b, of: all.length, failure, where: at ? at.message : failure.message };
    }
    onProgress({ done: imported, batch: b.index + 1 });
  }
  return { kind: "done", imported };
}
