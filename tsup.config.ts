import { readFileSync } from "node:fs";
import { defineConfig } from "tsup";

const { version } = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };

export default defineConfig([
  {
    // The SDK: ESM and CommonJS, each with its own declarations.
    // scan-worker: the scan's parsing thread, loaded by path from next to the bundle that starts it.
    entry: { index: "src/index.ts", "scan-worker": "src/scan/scan-worker.ts" },
    format: ["esm", "cjs"],
    dts: { entry: { index: "src/index.ts" } },
    sourcemap: true,
    target: "node20",
    platform: "node",
    shims: true,
    // Migrations ship inside the bundle as text.
    loader: { ".sql": "text" },
    // The pre-built embedded database (scripts/build-embedded-db.mjs) sits beside these bundles.
    define: { __SSELFIE_EMBEDDED_DB__: JSON.stringify("./embedded-db.json") },
  },
  {
    // The CLI: ESM only, split so that each command loads its heavy modules on demand.
    entry: { cli: "src/cli/main.ts", "scan-worker": "src/scan/scan-worker.ts" },
    format: ["esm"],
    splitting: true,
    sourcemap: true,
    target: "node20",
    platform: "node",
    outDir: "dist/cli",
    // commander is on every start-up path: bundled, it loads from one file instead of a package.
    noExternal: ["commander"],
    // Bundled CommonJS (commander) calls require(); give it Node's.
    banner: { js: 'import { createRequire as __sselfieRequire } from "node:module"; const require = __sselfieRequire(import.meta.url);' },
    loader: { ".sql": "text" },
    // The pre-built embedded database is in dist/, one folder up from these bundles.
    define: { __SSELFIE_VERSION__: JSON.stringify(version), __SSELFIE_EMBEDDED_DB__: JSON.stringify("../embedded-db.json") },
  },
]);
