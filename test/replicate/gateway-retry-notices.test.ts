/**
 * The gateway says what it waits for: before every wait for another attempt its caller is told
 * which call failed, how, which attempt comes next and when (the CLI prints it on stderr). And what
 * asking again cannot change (a host that does not exist, a refused certificate, a port fetch will
 * not use) is not asked again.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer as createTlsServer } from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/errors.js";
import { permanentFailure } from "../../src/replicate/permanent-failure.js";
import { createReplicateGateway, type ReplicateRetry } from "../../src/replicate/index.js";
import { caught } from "../support/caught.js";
import { emulatorForFile } from "../support/emulator-for-file.js";
import type { Emulator } from "../support/emulator/types.js";
import { gatewayFor } from "./gateway-helpers.js";

let emu: Emulator;
emulatorForFile({}, (started) => {
  emu = started;
});

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

/** Listens on a free loopback port; closed (with its connections) after the test. */
async function listen(server: Server, sockets: Socket[] = []): Promise<number> {
  server.on("connection", (s: Socket) => {
    sockets.push(s);
    s.on("error", () => {});
  });
  cleanups.push(() => {
    sockets.forEach((s) => s.destroy());
    server.close();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return (server.address() as { port: number }).port;
}

/** A server that accepts connections, reads requests and never answers, counting the requests. */
async function silentServer(): Promise<{ url: string; requests: () => number }> {
  let requests = 0;
  const server = createServer((s) => s.on("data", (d) => (requests += String(d).match(/^(GET|POST|DELETE) \//gm)?.length ?? 0)));
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}/v1`, requests: () => requests };
}

describe("notices before each retry", () => {
  it("a server that never answers: one notice per retry, saying what is waited for, for how long, and which attempt comes next", async () => {
    const silent = await silentServer();
    const notices: ReplicateRetry[] = [];
    const gw = gatewayFor({ url: silent.url, token: "t" }, { timeoutMs: 500, maxRetries: 2, random: () => 0.5, onRetry: (r) => notices.push(r) });
    const err = await caught(gw.getAccount());
    expect(err.code).toBe("REPLICATE_UNREACHABLE");
    // Every attempt that reached the server before its time ran out (on a loaded machine one may not).
    expect(silent.requests()).toBeGreaterThanOrEqual(1);
    expect(silent.requests()).toBeLessThanOrEqual(3);
    expect(notices).toEqual([
      {
        method: "GET",
        path: "/v1/account",
        reason: "timeout",
        attempt: 2,
        maxAttempts: 3,
        waitMs: 250,
        message: "Replicate has not answered GET /v1/account for 0.5 s; retrying in 0.3 s (2 of 3).",
      },
      expect.objectContaining({ reason: "timeout", attempt: 3, maxAttempts: 3, waitMs: 500, message: expect.stringMatching(/\(3 of 3\)\.$/) }),
    ]);
  });

  it("5xx and 429 are said too, with the wait the server asked for", async () => {
    const notices: ReplicateRetry[] = [];
    const gw = gatewayFor(emu, { random: () => 0, onRetry: (r) => notices.push(r) });
    emu.inject({ kind: "status", method: "GET", path: "/v1/account", status: 503 });
    emu.inject({ kind: "rate-limit", method: "GET", path: "/v1/account", retryAfterSeconds: 30 });
    expect((await gw.getAccount()).username).toBe(emu.owner);
    expect(notices.map((n) => [n.reason, n.attempt, n.message])).toEqual([
      ["unavailable", 2, "Replicate answered 503 to GET /v1/account; retrying in 0 s (2 of 6)."],
      ["rate-limited", 3, "Replicate is rate-limiting GET /v1/account; waiting 30 s before trying again (3 of 6)."],
    ]);
  });

  it("a listener that throws does not change the call", async () => {
    const gw = gatewayFor(emu, {
      onRetry: () => {
        throw new Error("listener bug");
      },
    });
    emu.inject({ kind: "drop", method: "GET", path: "/v1/account" });
    expect((await gw.getAccount()).username).toBe(emu.owner);
    expect(gw.waits).toHaveLength(1);
  });
});

describe("what asking again cannot change is asked once", () => {
  it("a host that does not exist (.invalid never resolves): one attempt, no wait, and a create is not left 'unknown'", async () => {
    const notices: ReplicateRetry[] = [];
    const gw = gatewayFor({ url: "http://nonexistent.invalid/v1", token: "t" }, { onRetry: (r) => notices.push(r) });
    const err = await caught(gw.getAccount());
    expect(err.code).toBe("REPLICATE_UNREACHABLE");
    expect(err.details).toMatchObject({ attempts: 1, network: "ENOTFOUND", permanent: true });
    expect(err.message).toMatch(/the host nonexistent\.invalid does not exist .*Not retried.*REPLICATE_BASE_URL/);
    const create = await caught(gw.createPrediction({ version: "a".repeat(64), input: {} }));
    expect(create.code).toBe("REPLICATE_UNREACHABLE");
    expect(create.details).toMatchObject({ attempts: 1 });
    expect(gw.waits).toEqual([]);
    expect(notices).toEqual([]);
  });

  it("a port fetch refuses to use (9, discard): one attempt", async () => {
    const gw = gatewayFor({ url: "http://127.0.0.1:9/v1", token: "t" });
    const err = await caught(gw.getAccount());
    expect(err.code).toBe("REPLICATE_UNREACHABLE");
    expect(err.details).toMatchObject({ attempts: 1, permanent: true });
    expect(err.message).toMatch(/refuses to connect to port 9/);
    expect(gw.waits).toEqual([]);
  });

  const haveOpenssl = spawnSync("openssl", ["version"], { stdio: "ignore" }).status === 0;
  it.skipIf(!haveOpenssl)("a certificate that is refused (self-signed): one attempt, no wait", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sselfie-cert-"));
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "1", "-subj", "/CN=127.0.0.1"], {
      stdio: "ignore",
    });
    const server = createTlsServer({ key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) });
    server.on("tlsClientError", () => {});
    const port = await listen(server);
    const gw = gatewayFor({ url: `https://127.0.0.1:${port}/v1`, token: "t" });
    const err = await caught(gw.getAccount());
    expect(err.code).toBe("REPLICATE_UNREACHABLE");
    expect(err.details).toMatchObject({ attempts: 1, network: "DEPTH_ZERO_SELF_SIGNED_CERT", permanent: true });
    expect(err.message).toMatch(/TLS certificate of 127\.0\.0\.1:\d+ was refused/);
    expect(gw.waits).toEqual([]);
  });

  it("a base URL fetch could never use is a configuration error before any request", () => {
    expect(() => createReplicateGateway({ apiToken: "t", baseUrl: "ftp://example.com/v1" })).toThrow(ConfigError);
    expect(() => createReplicateGateway({ apiToken: "t", baseUrl: "not a url" })).toThrow(/is not a URL/);
  });

  it("what can change is still retried: a temporary DNS failure, a refused connection", () => {
    const url = new URL("https://api.replicate.com/v1/account");
    const failed = (code: string) => new TypeError("fetch failed", { cause: Object.assign(new Error(`getaddrinfo ${code} api.replicate.com`), { code }) });
    expect(permanentFailure(failed("EAI_AGAIN"), "EAI_AGAIN", url)).toBeUndefined();
    expect(permanentFailure(failed("ECONNREFUSED"), "ECONNREFUSED", url)).toBeUndefined();
    expect(permanentFailure(failed("ECONNRESET"), "ECONNRESET", url)).toBeUndefined();
    expect(permanentFailure(failed("ENOTFOUND"), "ENOTFOUND", url)).toMatch(/does not exist/);
    expect(permanentFailure(failed("CERT_HAS_EXPIRED"), "CERT_HAS_EXPIRED", url)).toMatch(/certificate/);
  });
});
