import { readFile, readdir } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/connect.js";
import { runCli } from "../support/cli.js";
import { cliBackend, forEachCliBackend, initAndGetAdminToken } from "../support/cli-env.js";
import { TEST_DATABASE_URL } from "../support/databases.js";
import { emulatorForFile } from "../support/emulator-for-file.js";
import { type Emulator } from "../support/emulator/index.js";
import { tempDir } from "../support/temp-dirs.js";
import { emulatorTextOf, plantUser, type PlantedModel } from "../generation/plant.js";

let emulator: Emulator;
emulatorForFile({}, (started) => {
  emulator = started;
});
beforeEach(() => {
  emulator.withholdImages(0);
});

/** A migrated environment with an admin token, Replicate pointed at the emulator, and planted users. */
async function setUp(env: Record<string, string>, users: string[]) {
  const token = await initAndGetAdminToken(env);
  const db = await openDatabase({ databaseUrl: env.DATABASE_URL, home: env.SSELFIE_HOME!, schema: env.SSELFIE_SCHEMA });
  const models = new Map<string, PlantedModel>();
  try {
    for (const u of users) models.set(u, await plantUser(db, emulator, u));
  } finally {
    await db.close();
  }
  const full = { ...env, SSELFIE_TOKEN: token, REPLICATE_API_TOKEN: emulator.token, REPLICATE_BASE_URL: emulator.url, REPLICATE_OWNER: emulator.owner };
  return { env: full, models };
}

forEachCliBackend((backend) => {
  it("prints the contract's JSON and saves the PNGs under ./sselfie-output/<userId>/ by default", async () => {
    const { env, models } = await setUp(await backend.env(), ["42"]);
    const cwd = tempDir("sselfie-cwd-");
    const r = await runCli(["generate", "--user", "42", "--prompt", "portrait in a sunlit studio", "--seed", "4321", "--json"], { env, cwd });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const dir = join(cwd, "sselfie-output", "42");
    expect(r.json).toMatchObject({
      userId: "42",
      predictionId: expect.any(String),
      version: models.get("42")!.ref,
      seed: 4321,
      prompt: "user42, portrait in a sunlit studio",
      files: [0, 1, 2].map((i) => join(dir, `${r.json.predictionId}-${i}.png`)),
      triggerWordAdded: true,
      withheld: 0,
    });
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
    expect(r.json.files.every((f: string) => isAbsolute(f))).toBe(true);
    expect(await readdir(dir)).toHaveLength(3);
    const body = emulator.requestsTo("POST", "/v1/predictions")[0]!.body as { version: string; input: Record<string, unknown> };
    expect(body.version).toBe(models.get("42")!.ref);
    expect(body.input).toMatchObject({ guidance_scale: 2.8, seed: 4321, prompt: "user42, portrait in a sunlit studio" });
  });

  it("text output lists the files and says what was added and withheld; --out chooses the folder", async () => {
    const { env } = await setUp(await backend.env(), ["7"]);
    const out = tempDir("sselfie-out-");
    emulator.withholdImages(1);
    const r = await runCli(["generate", "--user", "7", "--prompt", "on a mountain", "--out", out], { env });
    expect(r.code).toBe(0);
    const files = (await readdir(out)).sort();
    expect(files).toHaveLength(2);
    for (const f of files) expect(r.stdout).toContain(join(out, f));
    expect(r.stdout).toMatch(/trigger word was added: "user7, on a mountain"/);
    expect(r.stdout).toMatch(/withheld 1 of 3 images/);
  });

  it("refusals carry their code and exit status", async () => {
    const { env } = await setUp(await backend.env(), []);
    const none = await runCli(["generate", "--user", "99", "--prompt", "user99", "--json"], { env });
    expect(none.code).toBe(4);
    expect(none.json).toEqual({ error: { code: "MODEL_NOT_FOUND", message: expect.stringMatching(/sselfie train --user 99/) } });
    expect(emulator.requestsTo("POST", "/v1/predictions")).toHaveLength(0);

    const created = await runCli(["operators", "create", "--name", "reader", "--scopes", "read", "--json"], { env });
    const reader = await runCli(["generate", "--user", "99", "--prompt", "user99", "--json"], { env: { ...env, SSELFIE_TOKEN: created.json.token } });
    expect(reader.code).toBe(3);
    expect(reader.json.error.code).toBe("FORBIDDEN");
  });

  it("a download that still fails after retries is exit 1 with the saved files and the error", async () => {
    const { env } = await setUp(await backend.env(), ["d9"]);
    emulator.inject({ kind: "status", method: "GET", path: /\/delivery\/.*\/out-2\.png$/, status: 404, times: 5 });
    const r = await runCli(["generate", "--user", "d9", "--prompt", "userd9", "--json", "--out", tempDir("sselfie-out-")], { env });
    expect(r.code).toBe(1);
    expect(r.json.files).toHaveLength(2);
    expect(r.json.error).toEqual({ code: "DOWNLOAD_INCOMPLETE", message: expect.stringMatching(/1 of 3 images/) });
    expect(r.json.failedDownloads).toEqual([{ index: 2, url: expect.any(String), error: expect.stringMatching(/404/) }]);
  });
});

describe("invalid arguments", () => {
  // An unreachable database (exit 6 if it were touched) and no token (exit 3): validation comes first.
  const env = () => ({
    SSELFIE_HOME: "/nonexistent/sselfie",
    DATABASE_URL: "postgres://nobody@127.0.0.1:1/none",
    REPLICATE_API_TOKEN: emulator.token,
    REPLICATE_BASE_URL: emulator.url,
  });
  it.each([
    [["--user", "42", "--prompt", "user42 next to user7"], "INVALID_PROMPT"],
    [["--user", "42", "--prompt", "   "], "INVALID_PROMPT"],
    [["--user", "42", "--prompt", "a\u0007b"], "INVALID_PROMPT"],
    [["--user", "42", "--prompt", "x".repeat(1001)], "INVALID_PROMPT"],
    [["--user", "42", "--prompt", "ok", "--seed", "1000000"], "INVALID_INPUT"],
    [["--user", "42", "--prompt", "ok", "--seed", "-3"], "INVALID_INPUT"],
    [["--user", "42", "--prompt", "ok", "--seed", "12.5"], "INVALID_INPUT"],
    [["--user", "Bad/Id", "--prompt", "ok"], "INVALID_INPUT"],
  ])("%j is exit 2 (%s) before any I/O", async (args, code) => {
    const r = await runCli(["generate", ...args, "--json"], { env: env() });
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe(code);
    expect(emulator.requests).toEqual([]);
  });
});

describe.skipIf(!TEST_DATABASE_URL)("10 CLI processes at once", () => {
  const backend = cliBackend("postgres");
  it("each gets its own user's images, checked through the emulator's log and the PNGs' tEXt", async () => {
    const users = Array.from({ length: 10 }, (_, i) => `p${i}`);
    const { env, models } = await setUp(await backend.env(), users);
    const root = tempDir("sselfie-par-");
    const results = await Promise.all(
      users.map((u) => runCli(["generate", "--user", u, "--prompt", `user${u} portrait`, "--json", "--out", join(root, u)], { env, timeoutMs: 120_000 })),
    );
    expect(results.map((r) => r.code)).toEqual(Array(10).fill(0));
    const posts = emulator.requestsTo("POST", "/v1/predictions").map((r) => r.body as { version: string; input: { prompt: string } });
    expect(posts).toHaveLength(10);
    for (const body of posts) expect(body.version).toBe(models.get(/^user(\S+) /.exec(body.input.prompt)![1]!)!.ref);
    for (const [i, r] of results.entries()) {
      const u = users[i]!;
      expect(r.json.userId).toBe(u);
      expect(r.json.version).toBe(models.get(u)!.ref);
      expect(emulator.predictions.get(r.json.predictionId)!.versionRef).toBe(models.get(u)!.ref);
      expect(r.json.files).toHaveLength(3);
      for (const [index, file] of (r.json.files as string[]).entries()) {
        expect(file.startsWith(join(root, u))).toBe(true);
        expect(emulatorTextOf(await readFile(file))).toEqual({ prediction: r.json.predictionId, seed: r.json.seed, index, version: models.get(u)!.ref });
      }
    }
  });
});
