/**
 * Progress on a real terminal of any size. A terminal that reports 0 columns (some CI
 * pseudo-terminals, `script` without a size, editor shells) once made the spinner loop on cursor-up
 * writes without ever yielding: hundreds of MB, full CPU, and SIGTERM never handled. There the CLI
 * writes plain lines; with a width it spins, and either way SIGTERM stops it at once and the final
 * status is printed once.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { runCli } from "../support/cli.js";
import { cliBackend, initAndGetAdminToken } from "../support/cli-env.js";
import { startEmulator, type Emulator } from "../support/emulator/index.js";
import { goodImages, writeFiles } from "../support/images.js";
import { HAVE_PTY, runCliOnPty, type PtyRun } from "../support/pty.js";
import { until } from "../support/until.js";

vi.setConfig({ testTimeout: 120_000 });

/** Cursor up (`ESC [ n A`), the spinner's way back over its lines, and hiding the cursor. */
const CURSOR_UP = /\x1b\[\d*A/;
const HIDE_CURSOR = "\x1b[?25l";
/** Far more than a few progress lines and a status, far less than a spinner loop writes in a second. */
const BOUNDED = 16 * 1024;

const backend = cliBackend("embedded");
let emu: Emulator;
let env: Record<string, string>;

beforeAll(async () => {
  // Trainings stay "starting" until a test finishes them.
  emu = await startEmulator({ training: { startingMs: 600_000, processingMs: 600_000 } });
  const base = await backend.env();
  const admin = await initAndGetAdminToken(base);
  env = { ...base, SSELFIE_TOKEN: admin, REPLICATE_API_TOKEN: emu.token, REPLICATE_BASE_URL: emu.url, REPLICATE_OWNER: emu.owner };
});
afterAll(() => emu?.close());

const photos = () => writeFiles(mkdtempSync(join(tmpdir(), "sselfie-pty-")), goodImages(10, { mixed: true }));

async function startTraining(user: string): Promise<void> {
  const r = await runCli(["train", "--user", user, "--images", photos(), "--json"], { env });
  expect(r.code, r.stdout + r.stderr).toBe(0);
}

/** Finishes the user's training at the emulator once it exists there. */
async function finishTrainingOf(user: string): Promise<void> {
  const training = await until(async () => [...emu.trainings.values()].find((t) => t.destination === `${emu.owner}/${user}-selfie-lora`), 60_000);
  emu.finishTraining(training.id, "succeeded");
}

const seen = (run: PtyRun, text: string) => until(async () => run.output().includes(text), 60_000);

describe.skipIf(!HAVE_PTY)("a terminal reporting 0 columns", () => {
  it("status --watch writes plain lines, no cursor movement, and SIGTERM ends it with 143 at once", async () => {
    await startTraining("42");
    const run = runCliOnPty(["status", "--user", "42", "--watch"], { columns: 0, env });
    await seen(run, "Following user 42's training");
    // Long enough for a spinner to draw many frames (it draws one every 80 ms).
    await new Promise((r) => setTimeout(r, 1_500));
    const sent = Date.now();
    run.kill("SIGTERM");
    const code = await run.exited(5_000);
    expect(code, run.output().slice(0, 500)).toBe(143);
    expect(Date.now() - sent).toBeLessThan(5_000);
    expect(run.bytes()).toBeLessThan(BOUNDED);
    expect(run.output()).not.toMatch(CURSOR_UP);
    expect(run.output()).not.toContain(HIDE_CURSOR);
    expect(run.output()).toContain("Following user 42's training…\r\n");
    expect(run.output()).toContain("Stopped following user 42's training");
  });

  it("train --wait ends by itself when the training completes, printing its final status once", async () => {
    const run = runCliOnPty(["train", "--user", "43", "--images", photos(), "--wait"], { columns: 0, env });
    await finishTrainingOf("43");
    const code = await run.exited(60_000);
    expect(code, run.output().slice(0, 500)).toBe(0);
    expect(run.bytes()).toBeLessThan(BOUNDED);
    expect(run.output()).not.toMatch(CURSOR_UP);
    expect(run.output().match(/User 43: training completed/g)).toHaveLength(1);
    expect(run.output()).not.toMatch(/User 43: completed/);
  });
});

describe.skipIf(!HAVE_PTY)("a terminal with a width", () => {
  it("train --wait spins, then prints the final status once, not the spinner's last line too", async () => {
    const run = runCliOnPty(["train", "--user", "44", "--images", photos(), "--wait"], { columns: 100, rows: 30, env });
    await seen(run, "Following user 44's training");
    await finishTrainingOf("44");
    const code = await run.exited(60_000);
    expect(code, run.output().slice(0, 500)).toBe(0);
    expect(run.output()).toContain(HIDE_CURSOR);
    expect(run.output().match(/User 44: training completed/g)).toHaveLength(1);
    expect(run.output()).not.toMatch(/User 44: completed/);
  });

  it("Ctrl-C typed during train --wait stops following at once: exit 130, it says so, and the training goes on", async () => {
    const run = runCliOnPty(["train", "--user", "46", "--images", photos(), "--wait"], { columns: 100, rows: 30, env });
    await seen(run, "Following user 46's training");
    await new Promise((r) => setTimeout(r, 500));
    const sent = Date.now();
    run.type("\x03");
    const code = await run.exited(15_000);
    expect(code, run.output().slice(-800)).toBe(130);
    expect(Date.now() - sent).toBeLessThan(15_000);
    expect(run.output()).not.toMatch(/undefined/);
    expect(run.output()).toContain("Stopping… (Ctrl-C again to stop at once)");
    expect(run.output()).toContain("Stopped following user 46's training");
    expect([...emu.trainings.values()].find((t) => t.destination === `${emu.owner}/46-selfie-lora`)?.status).toBe("starting");
  });

  it("SIGTERM stops status --watch with 143 at once", async () => {
    await startTraining("45");
    const run = runCliOnPty(["status", "--user", "45", "--watch"], { columns: 100, rows: 30, env });
    await seen(run, "Following user 45's training");
    await new Promise((r) => setTimeout(r, 500));
    const sent = Date.now();
    run.kill("SIGTERM");
    expect(await run.exited(5_000)).toBe(143);
    expect(Date.now() - sent).toBeLessThan(5_000);
  });
});
