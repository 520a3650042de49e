/**
 * `sselfie erase` through the built CLI: admin only, confirmation, the contract's JSON, a SIGKILL
 * while Replicate deletes the versions followed by a rerun that finishes, and generate refused
 * while the erasure is unfinished.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { expect, it } from "vitest";
import { openDatabase } from "../../src/db/connect.js";
import { BIN, runCli } from "../support/cli.js";
import { forEachCliBackend, initAndGetAdminToken, cliSql } from "../support/cli-env.js";
import { emulatorForFile } from "../support/emulator-for-file.js";
import type { Emulator } from "../support/emulator/index.js";
import { tempDir } from "../support/temp-dirs.js";
import { plantUser } from "../generation/plant.js";

let emulator: Emulator;
// Long enough for the CLI to be killed while Replicate still lists the deleted versions.
emulatorForFile({ versionDeleteMs: 1500 }, (started) => {
  emulator = started;
});

const sql = cliSql;

forEachCliBackend((backend) => {
  async function setUp(users: string[]) {
    const base = await backend.env();
    const token = await initAndGetAdminToken(base);
    const db = await openDatabase({ databaseUrl: base.DATABASE_URL, home: base.SSELFIE_HOME!, schema: base.SSELFIE_SCHEMA });
    const models = [];
    try {
      for (const u of users) models.push(await plantUser(db, emulator, u));
    } finally {
      await db.close();
    }
    const env = { ...base, SSELFIE_TOKEN: token, REPLICATE_API_TOKEN: emulator.token, REPLICATE_BASE_URL: emulator.url, REPLICATE_OWNER: emulator.owner };
    return { env, models };
  }

  it("admin only, --yes needed off a TTY; then erases with the contract's JSON while the other user stays", async () => {
    const { env, models } = await setUp(["x1", "y1"]);
    const out = tempDir("sselfie-out-");
    const gen = await runCli(["generate", "--user", "x1", "--prompt", "userx1", "--out", out, "--json"], { env });
    expect(gen.code).toBe(0);

    const reader = await runCli(["operators", "create", "--name", "reader", "--scopes", "read", "--json"], { env });
    const refused = await runCli(["erase", "--user", "x1", "--yes", "--json"], { env: { ...env, SSELFIE_TOKEN: reader.json.token } });
    expect(refused.code).toBe(3);
    expect(refused.json.error.code).toBe("FORBIDDEN");
    const unconfirmed = await runCli(["erase", "--user", "x1", "--json"], { env });
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.json.error.code).toBe("CONFIRMATION_REQUIRED");
    expect(emulator.requestsTo("DELETE", /.*/)).toHaveLength(0);
    expect(await sql(env, "SELECT count(*)::int AS n FROM :s.erasures")).toEqual([{ n: 0 }]);

    const r = await runCli(["erase", "--user", "x1", "--yes", "--json"], { env });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.json).toEqual({
      userId: "x1",
      status: "erased",
      deleted: { versions: 1, model: true, files: 0, localFiles: 3, rows: 5 /* users, user_models, training, generation, version schema */ },
      remaining: [{ kind: "training", id: expect.any(String), why: expect.any(String) }],
    });
    expect(gen.json.files.some((f: string) => existsSync(f))).toBe(false);
    expect(emulator.models.has(models[0]!.modelId)).toBe(false);
    expect(emulator.models.get(models[1]!.modelId)?.versions.has(models[1]!.versionId)).toBe(true);
    expect(await sql(env, "SELECT user_id FROM :s.users u JOIN :s.user_models m ON m.user_id = u.id")).toEqual([{ user_id: "y1" }]);

    const again = await runCli(["erase", "--user", "x1", "--yes"], { env });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/User x1 is erased/);
    expect(again.stdout).toMatch(/Deleted: 0 versions, no model, 0 uploads, 0 local files, 0 rows/);
  });

  it("killed (SIGKILL) while Replicate deletes the versions: generate refuses USER_ERASING, a rerun finishes", async () => {
    const { env, models } = await setUp(["x2"]);
    const child = spawn(process.execPath, [BIN, "erase", "--user", "x2", "--yes", "--json"], {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
      stdio: "ignore",
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    const modelPath = `/v1/models/${models[0]!.modelId}/versions`;
    // Killed once it has asked for the deletion and looked at the versions still listed.
    while (emulator.requestsTo("GET", modelPath).length === 0) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error("erase never reached the versions");
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill("SIGKILL");
    expect(await exited).toBeNull();
    expect(emulator.requestsTo("DELETE", `${modelPath}/${models[0]!.versionId}`)).toHaveLength(1);
    expect(await sql(env, "SELECT status FROM :s.erasures")).toEqual([{ status: "erasing" }]);

    const gen = await runCli(["generate", "--user", "x2", "--prompt", "userx2", "--out", tempDir("sselfie-out-"), "--json"], { env });
    expect(gen.code).toBe(4);
    expect(gen.json.error.code).toBe("USER_ERASING");
    expect(emulator.requestsTo("POST", "/v1/predictions")).toHaveLength(0);
    expect(emulator.requestsTo("GET", `${modelPath}/${models[0]!.versionId}`)).toHaveLength(0);

    const r = await runCli(["erase", "--user", "x2", "--yes", "--json"], { env });
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ status: "erased", deleted: { versions: 1, model: true, rows: 3 } });
    expect(emulator.models.has(models[0]!.modelId)).toBe(false);
    expect(await sql(env, "SELECT status FROM :s.erasures")).toEqual([{ status: "erased" }]);
  });
});
