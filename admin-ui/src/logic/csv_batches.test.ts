import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { CsvShapeError, type Progress, batches, importBatches, locate, splitCsv } from "./csv_batches";

describe("splitCsv", () => {
  it("splits plain rows under the header", () => {
    const f = splitCsv("name,key\na,aaaaaaaaaaaaaaaaaaaa\nb,bbbbbbbbbbbbbbbbbbbb\n");
    expect(f.header).toBe("name,key");
    expect(f.headerLine).toBe(1);
    expect(f.rows).toEqual([
      { text: "a,aaaaaaaaaaaaaaaaaaaa", line: 2 },
      { text: "b,bbbbbbbbbbbbbbbbbbbb", line: 3 },
    ]);
  });

  it("keeps commas, line breaks and escaped quotes inside quoted fields", () => {
    const text = 'name,key,description\n"a, b",k1,"two\nlines"\nc,k2,"say ""hi""\r\nthere"\nd,k3,\n';
    const f = splitCsv(text);
    expect(f.rows.map((r) => r.text)).toEqual([
      '"a, b",k1,"two\nlines"',
      'c,k2,"say ""hi""\r\nthere"',
      "d,k3,",
    ]);
    // Each row's line is where it starts in the file.
    expect(f.rows.map((r) => r.line)).toEqual([2, 4, 6]);
  });

  it("reads CRLF and lone CR line ends", () => {
    expect(splitCsv("name,key\r\na,k1\r\nb,k2\r\n").rows.map((r) => r.text)).toEqual(["a,k1", "b,k2"]);
    const cr = splitCsv("name,key\ra,k1\rb,k2");
    expect(cr.rows).toEqual([
      { text: "a,k1", line: 2 },
      { text: "b,k2", line: 3 },
    ]);
  });

  it("drops a byte-order mark so the first column is still 'name'", () => {
    const f = splitCsv("\uFEFFname,key\na,k1");
    expect(f.header).toBe("name,key");
    expect(f.rows).toHaveLength(1);
  });

  it("takes the first non-blank record as the header and skips blank lines", () => {
    const f = splitCsv("\n\nname,key\n\na,k1\n   \nb,k2\n\n");
    expect(f.header).toBe("name,key");
    expect(f.headerLine).toBe(3);
    expect(f.rows).toEqual([
      { text: "a,k1", line: 5 },
      { text: "b,k2", line: 7 },
    ]);
  });

  it("keeps a last row that has no line break after it", () => {
    expect(splitCsv("name,key\na,k1").rows).toEqual([{ text: "a,k1", line: 2 }]);
  });

  it("refuses an unclosed quote, naming the line its record starts on", () => {
    expect(() => splitCsv('name,key\na,k1\n"b,k2\nc,k3\n')).toThrowError(/line 3: a quoted field is not closed/);
  });

  it("refuses an empty file and a header without rows", () => {
    expect(() => splitCsv("")).toThrowError(CsvShapeError);
    expect(() => splitCsv("\uFEFF\r\n")).toThrowError(/empty/);
    expect(() => splitCsv("name,key\n\n")).toThrowError(/no rows/);
  });
});

describe("batches", () => {
  const many = (n: number) =>
    "name,key\n" + Array.from({ length: n }, (_, i) => `k${i},value${String(i).padStart(16, "0")}`).join("\n");

  it("cuts 10,001 rows into 21 batches of at most 500, each with the header", () => {
    const f = splitCsv(many(10_001));
    const b = batches(f, 500);
    expect(b).toHaveLength(21);
    expect(b.map((x) => x.rows.length).slice(-2)).toEqual([500, 1]);
    expect(b.reduce((n, x) => n + x.rows.length, 0)).toBe(10_001);
    for (const x of b) {
      expect(x.csv.startsWith("name,key\n")).toBe(true);
      expect(x.csv.endsWith("\n")).toBe(true);
      expect(x.csv.split("\n").length - 2).toBe(x.rows.length);
    }
    expect(b[3].firstRow).toBe(1500);
    expect(b[3].rows[0].text).toBe("k1500,value0000000000001500");
    // Every row goes exactly once, in order.
    const sent = b.flatMap((x) => x.csv.split("\n").slice(1, -1));
    expect(sent).toEqual(f.rows.map((r) => r.text));
  });

  it("never cuts inside a quoted field", () => {
    const f = splitCsv('name,key,description\na,k1,"x\ny"\nb,k2,"p\nq"\nc,k3,z\n');
    const b = batches(f, 2);
    expect(b.map((x) => x.csv)).toEqual([
      'name,key,description\na,k1,"x\ny"\nb,k2,"p\nq"\n',
      "name,key,description\nc,k3,z\n",
    ]);
  });

  it("sends a small file as one batch and refuses a size below 1", () => {
    const f = splitCsv(many(3));
    expect(batches(f)).toHaveLength(1);
    expect(() => batches(f, 0)).toThrowError(RangeError);
  });
});

describe("locate", () => {
  const f = splitCsv('name,key\n"multi\nline",k1\n' + Array.from({ length: 9 }, (_, i) => `n${i},k${i + 2}`).join("\n"));
  const b = batches(f, 4); // rows 1-4, 5-8, 9-10

  it("maps a batch's 'csv line N.field' to the row and line of the file", () => {
    // Batch 2's second record (csv line 3) is the file's row 6, on line 8
    // (row 1 spans lines 2-3).
    const at = locate(b[1], "csv line 3.name: must not be empty");
    expect(at).toEqual({
      row: 6,
      line: 8,
      message: "row 6 (line 8 of the file), name: must not be empty",
    });
  });

  it("maps the parse refusal 'csv: line N: ...'", () => {
    expect(locate(b[2], "csv: line 2: enabled must be true or false, got 'yes'")?.row).toBe(9);
    expect(locate(b[0], "csv: line 2: x")?.line).toBe(2);
  });

  it("maps an AlreadyExists message naming a row's value", () => {
    expect(locate(b[0], "an API key with the value given in csv line 5.value already exists")).toEqual({
      row: 4,
      line: 6,
      message: "an API key with the value given in row 4 (line 6 of the file), value already exists",
    });
  });

  it("names no row for a refusal of the whole file or a line the batch has not", () => {
    expect(locate(b[0], "csv: unknown column 'nmae'; columns are name,key")).toBeUndefined();
    expect(locate(b[2], "csv line 9.name: x")).toBeUndefined();
    expect(locate(b[0], "csv line 1: x")).toBeUndefined();
  });
});

describe("importBatches", () => {
  const f = splitCsv("name,key\n" + Array.from({ length: 5 }, (_, i) => `n${i},k${i}`).join("\n"));
  const b = batches(f, 2); // rows 1-2, 3-4, 5
  const rowsIn = (csv: string) => csv.trim().split("\n").length - 1;

  it("sends every batch in order and reports progress", async () => {
    const sent: string[] = [];
    const seen: Progress[] = [];
    const out = await importBatches(
      b,
      async (csv) => {
        sent.push(csv);
        return rowsIn(csv);
      },
      (p) => seen.push(p),
      () => false,
    );
    expect(out).toEqual({ kind: "done", imported: 5 });
    expect(sent).toEqual(b.map((x) => x.csv));
    expect(seen.at(-1)).toEqual({ done: 5, batch: 3 });
    expect(seen.filter((p) => p.done === 2)).toContainEqual({ done: 2, batch: 2 });
  });

  it("stops at the first refusal, naming the file's row", async () => {
    const sent: string[] = [];
    const out = await importBatches(
      b,
      async (csv) => {
        sent.push(csv);
        if (sent.length === 2) throw new ConnectError("csv line 3.key: already exists", Code.AlreadyExists);
        return rowsIn(csv);
      },
      () => {},
      () => false,
    );
    expect(sent).toHaveLength(2);
    expect(out.kind).toBe("refused");
    if (out.kind !== "refused") return;
    expect(out.imported).toBe(2);
    expect(out.batch).toBe(b[1]);
    expect(out.of).toBe(3);
    expect(out.failure.code).toBe(Code.AlreadyExists);
    // Batch 2's csv line 3 is its second record: the file's row 4, on line 5.
    expect(out.where).toBe("row 4 (line 5 of the file), key: already exists");
  });

  it("stops after the batch in flight when asked to", async () => {
    let stop = false;
    const sent: string[] = [];
    const out = await importBatches(
      b,
      async (csv) => {
        sent.push(csv);
        stop = true;
        return rowsIn(csv);
      },
      () => {},
      () => stop,
    );
    expect(sent).toEqual([b[0].csv]);
    expect(out).toEqual({ kind: "stopped", imported: 2, nextRow: 3 });
  });
});
