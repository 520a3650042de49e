/**
 * Budgets cap spending before money is spent: a reservation that does not fit refuses the work
 * before any paid call, concurrent calls never reserve more than the cap, and a process killed
 * between reservation and settlement leaves nothing reserved once `reconcile` has run.
 */
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/connect.js";
import { generate } from "../../src/generation/generate.js";
import { reconcile } from "../../src/reconcile/index.js";
import { setBudget } from "../../src/costs/budgets.js";
import { startTraining } from "../../src/training/index.js";
import { createSselfie } from "../../src/index.js";
import { sdkInternals } from "../../src/sdk/core.js";
import { BIN, runCli } from "../support/cli.js";
import { cliBackend, initAndGetAdminToken } from "../support/cli-env.js";
import { caught } from "../support/caught.js";
import { makeContext } from "../support/context.js";
import { TEST_DATABASE_URL, forEachBackend } from "../support/databases.js";
import { emulatorForFile } from "../support/emulator-for-file.js";
import type { Emulator } from "../support/emulator/index.js";
import { tempDir } from "../support/temp-dirs.js";
import { until } from "../support/until.js";
import { plantUser } from "../generation/plant.js";
import { events, imageFolder } from "../training/training-helpers.js";
import { costRows, expectSpendingConsistent, spending } from "./helpers.js";

const PREDICTION_MS = 60_000;
let emu: Emulator;
emulatorForFile({ training: { startingMs: 60_000, processingMs: 600_000 }, prediction: { durationMs: PREDICTION_MS } }, (started) => {
  emu = started;
});

/** The default estimate of a generation is 15 s x 0.001525 = 0.022875: this cap fits 5, not 6. */
const FIVE_GENERATIONS = "0.125";
const stopAtOnce = { waitSeconds: 1, pollIntervalMs: 20, timeoutMs: 1 };
const paidCalls = () => emu.requests.filter((r) => r.method === "POST" && /\/(predictions|trainings|files|models)$/.test(r.path));

forEachBackend((backend) => {
  it("budget 0: no paid call for a generation or a training; BUDGET_EXCEEDED with spent, reserved and cap; nothing reserved", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu);
    await plantUser(db, emu, "z1");
    await setBudget(ctx, "admin", { default: true, usd: 0 });

    const gen = await caught(generate(ctx, "op", { userId: "z1", prompt: "userz1", outDir: tempDir("sselfie-budget-"), ...stopAtOnce }));
    expect(gen.code).toBe("BUDGET_EXCEEDED");
    expect(gen.details).toEqual({ userId: "z1", kind: "generation", spent: "0", reserved: "0", estimate: "0.022875", cap: "0" });
    expect(gen.message).toMatch(/spent \$0, reserved \$0 .* cap \$0 \(the default budget\)/);
    const train = await caught(startTraining(ctx, "op", { userId: "z2", images: imageFolder(10).dir }));
    expect(train.code).toBe("BUDGET_EXCEEDED");
    expect(train.details).toMatchObject({ userId: "z2", kind: "training", cap: "0", estimate: "2.2875" });

    expect(paidCalls()).toEqual([]);
    expect(await costRows(db, "generations")).toEqual([]);
    expect(await costRows(db, "trainings", "z2")).toEqual([]);
    // Both refusals were rolled back whole: not even a spending row.
    expect(await spending(db, "z1")).toBeNull();
    expect(await spending(db, "z2")).toBeNull();
    expect((await events(db, "z1")).at(-1)).toMatchObject({ action: "generate", outcome: "refused", details: { code: "BUDGET_EXCEEDED" } });
    expect((await events(db, "z2")).at(-1)).toMatchObject({ action: "train", outcome: "refused", details: { code: "BUDGET_EXCEEDED" } });

    // A user's own budget overrides the default; without either, unlimited.
    await setBudget(ctx, "admin", { userId: "z1", usd: "1" });
    expect((await caught(generate(ctx, "op", { userId: "z1", prompt: "userz1", outDir: tempDir("sselfie-budget-"), ...stopAtOnce }))).code).toBe(
      "REPLICATE_WAIT_TIMEOUT",
    );
    expect(await spending(db, "z1")).toEqual({ spent: "0", reserved: "0.022875" });
  });

  it("20 concurrent generations under a budget for 5: 5 are created, 15 refused before any call", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu);
    await plantUser(db, emu, "c1");
    await setBudget(ctx, "admin", { userId: "c1", usd: FIVE_GENERATIONS });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => generate(ctx, "op", { userId: "c1", prompt: `userc1 take ${i}`, outDir: tempDir("sselfie-budget-"), ...stopAtOnce })),
    );
    const codes = results.map((r) => (r.status === "rejected" ? (r.reason as { code: string }).code : "ok"));
    expect(codes.filter((c) => c === "BUDGET_EXCEEDED")).toHaveLength(15);
    expect(codes.filter((c) => c === "REPLICATE_WAIT_TIMEOUT")).toHaveLength(5);
    expect(emu.requestsTo("POST", "/v1/predictions")).toHaveLength(5);
    expect(await costRows(db, "generations", "c1")).toHaveLength(5);
    expect(await expectSpendingConsistent(db, "c1")).toEqual({ spent: "0", reserved: "0.114375" });
  });
});

describe("embedded: one process, 20 concurrent SDK calls", () => {
  const backend = cliBackend("embedded");
  it("creates 5 under a budget for 5", async () => {
    const env = await backend.env();
    const sselfie = await createSselfie({ home: env.SSELFIE_HOME!, replicateApiToken: emu.token, replicateBaseUrl: emu.url, replicateOwner: emu.owner });
    try {
      const db = sdkInternals(sselfie).db;
      await plantUser(db, emu, "e1");
      await sselfie.budgets.set({ userId: "e1", usd: FIVE_GENERATIONS }, { actor: "admin" });
      let ended = 0;
      const calls = Array.from({ length: 20 }, (_, i) =>
        sselfie.generations
          .create({ userId: "e1", prompt: `usere1 take ${i}`, outDir: tempDir("sselfie-budget-") }, { pollIntervalMs: 20 })
          .then(
            () => "ok",
            (err: { code?: string }) => err.code ?? "UNEXPECTED",
          )
          .finally(() => ended++),
      );
      // Every call has either been refused or created its prediction: then the predictions may end.
      await until(async () => ended + emu.requestsTo("POST", "/v1/predictions").length >= 20, 60_000);
      expect(await sselfie.budgets.get({ userId: "e1" })).toEqual({
        userId: "e1",
        cap: 0.125,
        source: "user",
        spent: 0,
        reserved: 0.114375,
        available: 0.010625,
      });
      emu.advance(PREDICTION_MS);
      const codes = await Promise.all(calls);
      expect(codes.filter((c) => c === "BUDGET_EXCEEDED")).toHaveLength(15);
      expect(codes.filter((c) => c === "ok")).toHaveLength(5);
      expect(emu.requestsTo("POST", "/v1/predictions")).toHaveLength(5);
      const after = await expectSpendingConsistent(db, "e1");
      expect(after.reserved).toBe("0");
      expect(Number(after.spent)).toBeGreaterThan(0);
    } finally {
      await sselfie.close();
    }
  });
});

describe.skipIf(!TEST_DATABASE_URL)("postgres: 20 processes of the built CLI", () => {
  const backend = cliBackend("postgres");

  async function setUp(users: string[]) {
    const base = await backend.env();
    const token = await initAndGetAdminToken(base);
    const env: Record<string, string> = { ...base, SSELFIE_TOKEN: token, REPLICATE_API_TOKEN: emu.token, REPLICATE_BASE_URL: emu.url, REPLICATE_OWNER: emu.owner };
    const db = await openDatabase({ databaseUrl: env.DATABASE_URL, home: env.SSELFIE_HOME!, schema: env.SSELFIE_SCHEMA });
    for (const u of users) await plantUser(db, emu, u);
    return { env, db };
  }

  it("creates 5 under a budget for 5; budget show and costs tell the state", async () => {
    const { env, db } = await setUp(["p1"]);
    try {
      const set = await runCli(["budget", "set", "--user", "p1", "--usd", FIVE_GENERATIONS, "--json"], { env });
      expect(set.json).toEqual({ userId: "p1", default: false, usd: 0.125 });
      let ended = 0;
      const runs = Array.from({ length: 20 }, (_, i) =>
        runCli(["generate", "--user", "p1", "--prompt", `userp1 take ${i}`, "--out", tempDir("sselfie-budget-"), "--json"], { env, timeoutMs: 120_000 }).finally(
          () => ended++,
        ),
      );
      // Every process has either been refused or created its prediction: then the predictions may end.
      await until(async () => ended + emu.requestsTo("POST", "/v1/predictions").length >= 20, 100_000);
      emu.advance(PREDICTION_MS);
      const results = await Promise.all(runs);
      const refused = results.filter((r) => r.code === 4);
      expect(refused).toHaveLength(15);
      for (const r of refused) {
        expect(r.json.error.code).toBe("BUDGET_EXCEEDED");
        expect(r.json.error.message).toMatch(/spent \$[\d.]+, reserved \$[\d.]+ .* cap \$0\.125 \(their own budget\)/);
      }
      expect(results.filter((r) => r.code === 0)).toHaveLength(5);
      expect(emu.requestsTo("POST", "/v1/predictions")).toHaveLength(5);

      const spent = await expectSpendingConsistent(db, "p1");
      expect(spent.reserved).toBe("0");
      const show = await runCli(["budget", "show", "--user", "p1", "--json"], { env });
      expect(show.json).toMatchObject({ userId: "p1", cap: 0.125, source: "user", spent: Number(spent.spent), reserved: 0 });
      const costs = await runCli(["costs", "--json"], { env });
      expect(costs.json).toEqual({
        currency: "USD",
        total: Number(Number(spent.spent).toFixed(6)),
        trainings: { count: 0, seconds: 0, usd: 0 },
        generations: { count: 5, seconds: expect.any(Number), usd: Number(Number(spent.spent).toFixed(6)) },
        users: [{ userId: "p1", usd: Number(Number(spent.spent).toFixed(6)) }],
      });
    } finally {
      await db.close();
    }
  });

  it("a process killed after its create leaves no reservation behind once reconcile has run", async () => {
    const { env, db } = await setUp(["k1"]);
    try {
      const child = spawn(process.execPath, [BIN, "generate", "--user", "k1", "--prompt", "userk1", "--out", tempDir("sselfie-budget-"), "--json"], {
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
        stdio: "ignore",
      });
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      // Killed while its create is held open (Prefer: wait): the row is reserved, its prediction unknown to it.
      await until(async () => emu.requestsTo("POST", "/v1/predictions").length === 1, 60_000);
      await new Promise((r) => setTimeout(r, 300));
      child.kill("SIGKILL");
      expect(await exited).toBeNull();
      expect((await spending(db, "k1"))!.reserved).toBe("0.022875");

      emu.advance(PREDICTION_MS);
      const ctx = makeContext(db, emu);
      const report = await reconcile(ctx, { generationAges: { settleAfterMs: 0 } });
      expect(report.errors).toEqual([]);
      const [row] = await costRows(db, "generations", "k1");
      expect(row!.status).toBe("succeeded");
      expect(await expectSpendingConsistent(db, "k1")).toEqual({ spent: row!.cost_usd, reserved: "0" });
    } finally {
      await db.close();
    }
  });
});

