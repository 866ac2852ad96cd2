// Generates the TypeScript client from the .proto files with buf (an npm
// package that carries its own binary) and protoc-gen-es. Run from
// admin-ui/: `npm run generate`.
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";

rmSync("src/gen", { recursive: true, force: true });
for (const input of ["../proto", "proto-ext"]) {
  execFileSync("node_modules/.bin/buf", ["generate", input, "--template", "buf.gen.yaml"], {
    stdio: "inherit",
  });
}
