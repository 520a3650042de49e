/**
 * A command that does not call Replicate loads neither zod nor the Replicate client: zod's import
 * alone was measured at 0.27-0.98 s on a loaded machine (bench/README.md). The built binary runs
 * under a loader hook that records every module it imports.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { BIN, runCli } from "../support/cli.js";
import { cliBackend, initAndGetAdminToken } from "../support/cli-env.js";

const RECORDER = fileURLToPath(new URL("../support/record-imports.mjs", import.meta.url));
const embedded = cliBackend("embedded");

it("status on the embedded database imports neither zod nor replicate", async () => {
  const env = await embedded.env();
  const token = await initAndGetAdminToken(env);
  const log = join(env.SSELFIE_HOME!, "imports.log");
  const r = await runCli(["--import", RECORDER, BIN, "status", "--user", "42", "--json", "--token", token], {
    command: process.execPath,
    env: { ...env, SSELFIE_TEST_IMPORTS_LOG: log },
  });
  expect([r.code, r.json?.status]).toEqual([0, "none"]);
  const imported = readFileSync(log, "utf8").split("\n").filter(Boolean);
  // The recorder sees packages: PGlite is imported to open the database.
  expect(imported.some((url) => url.includes("/node_modules/@electric-sql/pglite/"))).toBe(true);
  expect(imported.filter((url) => /\/node_modules\/(zod|replicate)\//.test(url))).toEqual([]);
});
