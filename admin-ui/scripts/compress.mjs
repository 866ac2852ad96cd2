// Writes X.br and X.gz beside every text file of dist/, so the control
// plane (which embeds dist/) serves them precompressed without compressing
// per request. Brotli at its best level: done once per build.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { brotliCompressSync, gzipSync, constants } from "node:zlib";

const TEXT = /\.(html|js|css|svg|json|txt|map)$/;

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else yield path;
  }
}

/**
 * FNV-1a (64 bits) of the file each pair was compressed from, written to
 * dist/precompressed.txt (one `HASH PATH` a line): control-plane/build.rs refuses to embed a
 * .br/.gz whose source has changed since (a `vite build` run without this
 * script would otherwise serve compressed copies of deleted files).
 */
function fnv1a(bytes) {
  let hash = 0xcbf29ce484222325n;
  for (const b of bytes) hash = BigInt.asUintN(64, (hash ^ BigInt(b)) * 0x100000001b3n);
  return hash.toString(16).padStart(16, "0");
}

const sources = {};
let raw = 0;
let br = 0;
let gz = 0;
for (const path of files("dist")) {
  if (!TEXT.test(path)) continue;
  const data = readFileSync(path);
  const brotli = brotliCompressSync(data, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
  });
  // mtime 0 in the gzip header: the same input gives the same bytes.
  const gzip = gzipSync(data, { level: 9 });
  sources[relative("dist", path).replaceAll("\\", "/")] = fnv1a(data);
  writeFileSync(`${path}.br`, brotli);
  writeFileSync(`${path}.gz`, gzip);
  raw += data.length;
  br += brotli.length;
  gz += gzip.length;
}
writeFileSync(
  "dist/precompressed.txt",
  Object.entries(sources)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([path, hash]) => `${hash} ${path}\n`)
    .join(""),
);
console.log(`dist: ${raw} bytes, ${br} brotli, ${gz} gzip`);
