/**
 * The SDK as a backend service uses it: the BUILT package (`dist/index.js` through `import`,
 * `dist/index.cjs` through `require`, both resolved by name through package.json's exports map),
 * in a separate Node process, against the Replicate emulator over HTTP.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openDatabase } from "../../src/db/connect.js";
import { MIGRATIONS } from "../../src/db/migrations/index.js";
import { TEST_DATABASE_URL, testSchemaName } from "../support/databases.js";
import { startEmulator, type Emulator } from "../support/emulator/index.js";
import { copyPgliteTemplate } from "../support/pglite-template.js";
import { tempDir } from "../support/temp-dirs.js";
import { imageFolder } from "../training/training-helpers.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

type Format = "esm" | "cjs";

/**
 * Runs `body` (the text of an async function body that sees `m`, the package, and `cfg`) in a new
 * Node process; resolves with what it returns (through JSON on stdout).
 */
function runWithPackage(format: Format, body: string, cfg: Record<string, unknown>): Promise<any> {
  const main = `async (m, cfg) => { ${body} }`;
  const script =
    format === "esm"
      ? `const m = await import("sselfie"); const r = await (${main})(m, JSON.parse(process.env.SDK_TEST_CFG)); process.stdout.write(JSON.stringify(r));`
      : `const m = require("sselfie"); (${main})(m, JSON.parse(process.env.SDK_TEST_CFG)).then((r) => process.stdout.write(JSON.stringify(r)), (e) => { console.error(e); process.exitCode = 1; });`;
  const args = format === "esm" ? ["--input-type=module", "-e", script] : ["-e", script];
  return new Promise((resolve, reject) => {
    // cwd is the package root: `sselfie` resolves to this very package through its exports map.
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", SDK_TEST_CFG: JSON.stringify(cfg) },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`node exited ${code}: ${stderr}`));
      resolve(JSON.parse(stdout));
    });
  });
}

let emu: Emulator;
beforeAll(async () => {
  if (!existsSync(join(ROOT, "dist/index.js")) || !existsSync(join(ROOT, "dist/index.cjs"))) {
    throw new Error("dist/index.js or dist/index.cjs is missing: run `npm run build` first");
  }
  emu = await startEmulator({ training: { startingMs: 20, processingMs: 1_500 }, prediction: { durationMs: 20 } });
});
afterAll(async () => {
  await emu?.close();
});

const replicate = () => ({ replicateApiToken: emu.token, replicateBaseUrl: emu.url, replicateOwner: emu.owner });

it("ESM, embedded default: NOT_INITIALISED before init; no context or db; a training and a generation through the emulator; an aborted wait stops at once", async () => {
  const home = tempDir("sselfie-sdk-home-");
  await copyPgliteTemplate(home);
  const out = tempDir("sselfie-sdk-out-");
  const cfg = { home, out, images: imageFolder(10).dir, ...replicate() };

  const r = await runWithPackage(
    "esm",
    `
    const caught = (p) => p.then(() => null, (e) => ({ code: e.code, name: e.name, isConfigError: e instanceof m.ConfigError, isSselfieError: e instanceof m.SselfieError }));
    const r = { exports: Object.keys(m) };
    // A schema nobody migrated: every verb refuses with the typed error, not a Postgres error.
    const empty = await m.createSselfie({ home: cfg.home, schema: "never_migrated" });
    r.empty = {
      generate: await caught(empty.generations.create({ userId: "ana", prompt: "portrait", outDir: cfg.out })),
      get: await caught(empty.trainings.get("ana")),
      list: await caught(empty.operators.list()),
    };
    await empty.close();

    const s = await m.createSselfie({ identityCheck: false, home: cfg.home, replicateApiToken: cfg.replicateApiToken, replicateBaseUrl: cfg.replicateBaseUrl, replicateOwner: cfg.replicateOwner });
    r.surface = { keys: Object.keys(s).sort(), context: "context" in s, db: "db" in s };
    r.init = await s.init();
    const started = await s.trainings.start({ userId: "ana", images: cfg.images }, { actor: "backend" });
    r.started = started.status;
    const controller = new AbortController();
    const t0 = Date.now();
    setTimeout(() => controller.abort(), 100);
    r.aborted = await s.trainings.wait("ana", { signal: controller.signal, pollIntervalMs: 20 }).then(
      (st) => ({ resolved: st.status }),
      (e) => ({ name: e.name, ms: Date.now() - t0 }),
    );
    r.afterAbort = (await s.trainings.get("ana")).status;
    const seen = [];
    r.waited = (await s.trainings.wait("ana", { actor: "backend", pollIntervalMs: 20, onProgress: (p) => seen.push(p.status) })).status;
    r.progress = seen;
    const g = await s.generations.create({ userId: "ana", prompt: "portrait, soft light", seed: 7, outDir: cfg.out }, { actor: "backend", pollIntervalMs: 20 });
    r.generation = { files: g.files, version: g.version, seed: g.seed, failed: g.failedDownloads.length };
    r.resolved = (await s.models.resolve("ana")).ref;
    await s.close();
    return r;`,
    cfg,
  );

  // Only the facade, never a bare use-case or the store.
  expect(r.exports).toContain("createSselfie");
  for (const name of ["generate", "startTraining", "waitForTraining", "runAudit", "handleReplicateWebhook", "resolveUserModel"]) {
    expect(r.exports).not.toContain(name);
  }
  const refused = { code: "NOT_INITIALISED", name: "ConfigError", isConfigError: true, isSselfieError: true };
  expect(r.empty).toEqual({ generate: refused, get: refused, list: refused });
  expect(r.surface).toEqual({
    keys: ["audit", "budgets", "costs", "datasets", "generations", "models", "operators", "owners", "trainings", "users", "webhooks"],
    context: false,
    db: false,
  });
  expect(r.init.operator).toMatchObject({ name: "admin", scopes: ["admin"] });

  // The wait stopped at the abort, long before the training (1.5 s at the emulator) ended, and
  // the training went on. (The abort is seen between two polls: a refresh in flight finishes first.)
  expect(r.aborted.name).toBe("AbortError");
  expect(r.aborted.ms).toBeLessThan(1_400);
  expect(["pending", "training"]).toContain(r.afterAbort);
  expect(r.waited).toBe("completed");
  expect(r.progress.at(-1)).toBe("completed");

  // The generation ran on ana's own version at the emulator, and its 3 PNGs are on disk.
  expect(r.generation.failed).toBe(0);
  expect(r.generation.version).toBe(r.resolved);
  expect(r.generation.version).toMatch(new RegExp(`^${emu.owner}/ana-selfie-lora:[0-9a-f]{64}$`));
  const created = emu.requestsTo("POST", "/v1/predictions");
  expect(created).toHaveLength(1);
  expect(created[0]!.body).toMatchObject({ version: r.generation.version, input: { seed: 7 } });
  expect(r.generation.files).toHaveLength(3);
  expect(readdirSync(out).sort()).toEqual(r.generation.files.map((f: string) => f.slice(out.length + 1)).sort());

  // `actor` is who acts in operator_events.
  const db = await openDatabase({ home });
  try {
    const { rows } = await db.query<{ operator: string | null; action: string }>(
      `SELECT operator, action FROM ${db.s}.operator_events WHERE action IN ('train', 'generate') ORDER BY id`,
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((e) => e.operator === "backend")).toBe(true);
  } finally {
    await db.close();
  }
});

it("CommonJS: require('sselfie') gives the same facade and error classes (embedded)", async () => {
  const home = tempDir("sselfie-sdk-cjs-");
  await copyPgliteTemplate(home);
  const r = await runWithPackage(
    "cjs",
    `
    const s = await m.createSselfie({ home: cfg.home });
    const init = await s.init();
    const err = await s.trainings.start({ userId: "Not Valid", images: "/nowhere" }).catch((e) => e);
    const list = await s.operators.list();
    await s.close();
    return { init: init.operator && init.operator.name, list: list.map((o) => o.name), err: { code: err.code, invalid: err instanceof m.InvalidInputError } };`,
    { home },
  );
  expect(r).toEqual({ init: "admin", list: ["admin"], err: { code: "INVALID_INPUT", invalid: true } });
});

it.skipIf(!TEST_DATABASE_URL)("ESM and CommonJS with a caller-owned pg.Pool: NOT_INITIALISED on an empty schema, init, close; the pool still works", async () => {
  const schemas = [testSchemaName(), testSchemaName()];
  try {
    for (const [i, format] of (["esm", "cjs"] as const).entries()) {
      const r = await runWithPackage(
        format,
        `
        const pg = ${format === "esm" ? `(await import("pg")).default` : `require("pg")`};
        const pool = new pg.Pool({ connectionString: cfg.url, max: 2 });
        const s = await m.createSselfie({ pool, schema: cfg.schema });
        const before = await s.generations.create({ userId: "ana", prompt: "portrait", outDir: "/tmp/never" }).catch((e) => e.code);
        const init = await s.init();
        const list = (await s.operators.list()).map((o) => o.name);
        await s.close();
        await s.close();
        const after = (await pool.query("SELECT count(*)::int AS n FROM " + cfg.schema + ".operators")).rows[0].n;
        await pool.end();
        return { before, version: init.schemaVersion, list, after };`,
        { url: TEST_DATABASE_URL, schema: schemas[i] },
      );
      expect(r).toEqual({ before: "NOT_INITIALISED", version: MIGRATIONS.at(-1)!.version, list: ["admin"], after: 1 });
    }
  } finally {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    await client.end();
  }
});
