/**
 * Waiting on Replicate, as a user sees it. A Replicate that accepts connections and never answers
 * once kept `generate` silent for over three minutes before exit 5; now every retry is said on
 * stderr (off a TTY and with --json too, stdout keeps its one document). A host that does not
 * exist is asked once and reported at once.
 */
import { createServer, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { runCli } from "../support/cli.js";
import { embeddedEnvWithModel } from "../support/cli-env.js";
import { emulatorForFile } from "../support/emulator-for-file.js";
import { type Emulator } from "../support/emulator/index.js";
import { tempDir } from "../support/temp-dirs.js";

vi.setConfig({ testTimeout: 90_000 });

let emulator: Emulator;
emulatorForFile({}, (started) => {
  emulator = started;
});

/** A migrated environment with an admin token and user 42 holding a completed model; each test sets REPLICATE_BASE_URL. */
let env: Record<string, string>;
beforeAll(async () => {
  env = await embeddedEnvWithModel(emulator);
});

/** Accepts connections, reads requests, never answers. */
let silentUrl: string;
let requests = 0;
const sockets: Socket[] = [];
const silent = createServer((s) => {
  sockets.push(s);
  s.on("error", () => {});
  s.on("data", (d) => (requests += String(d).match(/^(GET|POST|DELETE) \//gm)?.length ?? 0));
});
beforeAll(async () => {
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
  silentUrl = `http://127.0.0.1:${(silent.address() as { port: number }).port}/v1`;
});
afterAll(() => {
  sockets.forEach((s) => s.destroy());
  silent.close();
});

const generate = (extra: Record<string, string>) =>
  runCli(["generate", "--user", "42", "--prompt", "a portrait", "--out", tempDir("sselfie-waits-"), "--json"], { env: { ...env, ...extra } });

describe("a Replicate that never answers", () => {
  it("each retry is said on stderr off a TTY, with what is waited for and which attempt comes next; then exit 5", async () => {
    requests = 0;
    const r = await generate({ REPLICATE_BASE_URL: silentUrl, SSELFIE_REPLICATE_TIMEOUT: "0.3" });
    expect(r.code, r.stdout + r.stderr).toBe(5);
    expect(r.json.error.code).toBe("REPLICATE_UNREACHABLE");
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
    const notices = r.stderr.trim().split("\n");
    expect(notices).toHaveLength(5);
    notices.forEach((line, i) =>
      expect(line).toMatch(new RegExp(`^Replicate has not answered GET /v1/models/\\S+ for 0\\.3 s; retrying in [\\d.]+ s \\(${i + 2} of 6\\)\\.$`)),
    );
    // Each attempt that reached the server before its time ran out (on a loaded machine one may not).
    expect(requests).toBeGreaterThanOrEqual(1);
    expect(requests).toBeLessThanOrEqual(6);
  });

  it("SSELFIE_REPLICATE_TIMEOUT that is not a number of seconds is a configuration error (exit 6)", async () => {
    const r = await generate({ REPLICATE_BASE_URL: silentUrl, SSELFIE_REPLICATE_TIMEOUT: "soon" });
    expect(r.code).toBe(6);
    expect(r.json.error.message).toMatch(/SSELFIE_REPLICATE_TIMEOUT must be a number of seconds/);
  });
});

describe("a host that does not exist", () => {
  it("is asked once: exit 5 at once, saying so, with no retry", async () => {
    const started = Date.now();
    const r = await generate({ REPLICATE_BASE_URL: "http://nonexistent.invalid/v1" });
    const elapsed = Date.now() - started;
    expect(r.code, r.stdout + r.stderr).toBe(5);
    expect(r.json.error.code).toBe("REPLICATE_UNREACHABLE");
    expect(r.json.error.message).toMatch(/the host nonexistent\.invalid does not exist .*Not retried.*REPLICATE_BASE_URL/);
    expect(r.stderr).not.toMatch(/retrying/);
    // Opening the embedded database and one lookup: seconds on a busy machine, not the 15 s six attempts took.
    expect(elapsed).toBeLessThan(10_000);
  });
});
