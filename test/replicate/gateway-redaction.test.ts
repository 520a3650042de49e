/** The API token must not appear in anything an error carries, whatever went wrong. */
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { createReplicateGateway } from "../../src/replicate/index.js";
import { caught } from "../support/caught.js";
import { emulatorForFile } from "../support/emulator-for-file.js";
import type { Emulator } from "../support/emulator/types.js";
import { gatewayFor, trainingParams } from "./gateway-helpers.js";

const TOKEN = "test-token-zebra-7f3a9c1e55";
let emu: Emulator;

emulatorForFile({ accounts: [{ token: TOKEN, username: "zebra" }] }, (started) => {
  emu = started;
  emu.createModel("zebra/dest", { visibility: "private" });
});

function everyRendering(err: unknown): string[] {
  const e = err as Error & { cause?: unknown };
  return [
    JSON.stringify(err),
    JSON.stringify({ ...e, message: e.message, stack: e.stack }),
    inspect(err, { depth: 10, showHidden: true }),
    String(err),
    e.stack ?? "",
    inspect(e.cause, { depth: 10, showHidden: true }),
  ];
}

function expectNoToken(err: unknown, token = TOKEN): void {
  for (const text of everyRendering(err)) {
    expect(text).not.toContain(token);
    expect(text).not.toMatch(/Bearer\s+(?!\[REDACTED\])/);
  }
}

describe("token redaction", () => {
  const gw = () => gatewayFor(emu, { maxRetries: 1 });
  const cases: Array<[string, string, () => Promise<unknown>]> = [
    [
      "401",
      "REPLICATE_UNAUTHORIZED",
      () => {
        emu.inject({ kind: "status", method: "GET", path: "/v1/account", status: 401, body: { detail: "You did not pass a valid authentication token", status: 401 } });
        return gw().getAccount();
      },
    ],
    ["404", "REPLICATE_NOT_FOUND", () => gw().getTraining("doesnotexist")],
    [
      "422",
      "REPLICATE_INVALID_INPUT",
      () => {
        emu.inject({ kind: "status", method: "POST", path: /\/trainings$/, status: 422, body: { detail: "steps out of range" } });
        return gw().createTraining(trainingParams("zebra/dest"));
      },
    ],
    [
      "429",
      "REPLICATE_RATE_LIMITED",
      () => {
        emu.inject({ kind: "rate-limit", method: "GET", path: "/v1/account", retryAfterSeconds: 1, times: 5 });
        return gw().getAccount();
      },
    ],
    [
      "5xx",
      "REPLICATE_UNAVAILABLE",
      () => {
        emu.inject({ kind: "status", method: "GET", path: "/v1/account", status: 500, times: 5 });
        return gw().getAccount();
      },
    ],
    [
      "drop",
      "REPLICATE_UNREACHABLE",
      () => {
        emu.inject({ kind: "drop", method: "GET", path: "/v1/account", times: 5 });
        return gw().getAccount();
      },
    ],
    [
      "crash-after-create",
      "REPLICATE_OUTCOME_UNKNOWN",
      () => {
        emu.inject({ kind: "crash-after-create", method: "POST", path: /\/trainings$/ });
        return gw().createTraining(trainingParams("zebra/dest"));
      },
    ],
    [
      "bad-response",
      "REPLICATE_BAD_RESPONSE",
      () => {
        emu.inject({ kind: "status", method: "GET", path: "/v1/account", status: 200, body: { nothing: true } });
        return gw().getAccount();
      },
    ],
    [
      "timeout",
      "REPLICATE_UNREACHABLE",
      () => {
        emu.inject({ kind: "delay", method: "GET", path: "/v1/account", ms: 500, times: 2 });
        return gatewayFor(emu, { maxRetries: 1, timeoutMs: 50 }).getAccount();
      },
    ],
    [
      "server-echoes-token",
      "REPLICATE_UNAVAILABLE",
      () => {
        emu.inject({ kind: "status", method: "GET", path: "/v1/account", status: 503, body: { detail: `bad header Authorization: Bearer ${TOKEN} (${TOKEN})` }, times: 5 });
        return gw().getAccount();
      },
    ],
    [
      "404-echoes-token",
      "REPLICATE_NOT_FOUND",
      () => {
        emu.inject({ kind: "status", method: "GET", path: "/v1/account", status: 404, body: { detail: `no account for ${TOKEN}` } });
        return gw().getAccount();
      },
    ],
  ];

  for (const [name, code, run] of cases) {
    it(`leaves no token in a ${name} error (${code})`, async () => {
      const err = await caught(run());
      expect((err as { code?: string }).code).toBe(code);
      expectNoToken(err);
    });
  }

  it("masks the echoed token but keeps the rest of the detail", async () => {
    emu.inject({ kind: "status", method: "GET", path: "/v1/account", status: 404, body: { detail: `no account for ${TOKEN}` } });
    const err = await caught(gw().getAccount());
    expect(err.detail).toBe("no account for [REDACTED]");
  });

  it("leaves no token when the token itself is refused", async () => {
    const wrong = "test-token-wrong-c0ffee12345";
    const err = await caught(createReplicateGateway({ apiToken: wrong, baseUrl: emu.url }).getAccount());
    expect((err as { code?: string }).code).toBe("REPLICATE_UNAUTHORIZED");
    expectNoToken(err, wrong);
  });

  it("keeps the token out of the gateway object itself", () => {
    const g = createReplicateGateway({ apiToken: TOKEN, baseUrl: emu.url });
    expect(inspect(g, { depth: 10, showHidden: true })).not.toContain(TOKEN);
    expect(JSON.stringify(g)).not.toContain(TOKEN);
  });
});
