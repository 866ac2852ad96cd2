/// <reference types="vitest/config" />
import { defineConfig } from "vite";

// Preact's JSX through esbuild: no framework plugin needed.
export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // One script and one stylesheet, both external: the control plane's
    // Content-Security-Policy allows only same-origin files, no inline code.
    modulePreload: { polyfill: false },
    cssCodeSplit: false,
    reportCompressedSize: true,
  },
  server: {
    // `npm run dev` against a running control plane: ARCHWAY_ADMIN=http://127.0.0.1:PORT
    proxy: process.env.ARCHWAY_ADMIN
      ? { "^/(archway|grpc)\\.": { target: process.env.ARCHWAY_ADMIN, changeOrigin: false } }
      : undefined,
  },
  test: {
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    environment: "node",
  },
});
