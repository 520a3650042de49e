/**
 * src/replicate/http.ts leans on internals of replicate 1.4.0 (its `request()` and
 * `withAutomaticRetries`): the client hands our fetch a URL and one `init` object that it
 * reuses for every repeat of a call, repeats a thrown call without waiting, and retries POSTs on
 * 429 only. Our fetch disarms that loop by throwing the same error at once for a reused `init`.
 * These tests pin that behaviour: an upgrade that changes it fails here before it can send a
 * second paid POST.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import Replicate from "replicate";
import { describe, expect, it } from "vitest";

const require = createRequire(import.meta.url);
const BASE = "http://127.0.0.1:9/v1";

function stubbed(answer: (n: number) => Response | Error) {
  const calls: { input: unknown; init: RequestInit | undefined; at: number }[] = [];
  const fetch = async (input: unknown, init?: RequestInit) => {
    calls.push({ input, init, at: Date.now() });
    const a = answer(calls.length);
    if (a instanceof Error) throw a;
    return a;
  };
  const client = new Replicate({ auth: "r8_test", baseUrl: BASE, fetch: fetch as typeof globalThis.fetch });
  return { client, calls };
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

describe("replicate client internals sselfie depends on", () => {
  it("is exactly the pinned 1.4.0", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { dependencies: Record<string, string> };
    expect(pkg.dependencies.replicate).toBe("1.4.0");
    expect((require("replicate/package.json") as { version: string }).version).toBe("1.4.0");
  });

  it("repeats a thrown call 5 times with the very same init object and a URL (not a Request), then rethrows", async () => {
    const boom = new Error("socket hang up");
    const { client, calls } = stubbed(() => boom);
    const started = Date.now();
    await expect(client.predictions.create({ version: "a".repeat(64), input: {} })).rejects.toBe(boom);
    expect(calls).toHaveLength(6);
    expect(new Set(calls.map((c) => c.init)).size).toBe(1);
    expect(calls.every((c) => c.input instanceof URL)).toBe(true);
    expect(calls[0]!.init?.method).toBe("POST");
    // The loop does not really wait between attempts.
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("retries a POST on 429 (without honouring its wait), a GET on 5xx too, and nothing else", async () => {
    const throttled = stubbed((n) => (n < 3 ? json(429, { detail: "throttled" }) : json(201, { id: "p1", status: "starting" })));
    await throttled.client.predictions.create({ version: "a".repeat(64), input: {} });
    expect(throttled.calls).toHaveLength(3);
    expect(new Set(throttled.calls.map((c) => c.init)).size).toBe(1);

    const post5xx = stubbed(() => json(503, { detail: "down" }));
    await expect(post5xx.client.predictions.create({ version: "a".repeat(64), input: {} })).rejects.toMatchObject({ name: "ApiError" });
    expect(post5xx.calls).toHaveLength(1);

    const get5xx = stubbed((n) => (n < 2 ? json(503, { detail: "down" }) : json(200, { username: "u", type: "user" })));
    await get5xx.client.accounts.current();
    expect(get5xx.calls).toHaveLength(2);

    const get404 = stubbed(() => json(404, { detail: "Not found.", status: 404 }));
    const err = (await get404.client.models.get("a", "b").catch((e: unknown) => e)) as { name: string; response: Response };
    expect(get404.calls).toHaveLength(1);
    expect(err.name).toBe("ApiError");
    expect(err.response.status).toBe(404);
  });

  it("does not export ApiError at run time (the gateway recognises it by name)", async () => {
    const mod = (await import("replicate")) as Record<string, unknown>;
    expect(mod.ApiError).toBeUndefined();
  });
});
