import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../support/emulator/index.js";
import { call } from "./helpers.js";

const UNAUTHENTICATED = { title: "Unauthenticated", detail: "You did not pass a valid authentication token", status: 401 };

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({
    accounts: [
      { token: "test-token-alice", username: "alice" },
      { token: "test-token-acme", username: "acme", type: "organization" },
    ],
    maxModelsPerAccount: 3,
  });
});
afterAll(() => emu.close());

describe("auth", () => {
  it("answers every API path 401 problem+json without a valid bearer token", async () => {
    for (const [method, path] of [
      ["GET", "/account"],
      ["POST", "/predictions"],
      ["GET", "/trainings"],
      ["GET", "/models/ostris/flux-dev-lora-trainer"],
      ["GET", "/webhooks/default/secret"],
      ["GET", "/no/such/route"],
    ] as const) {
      for (const token of [null, "wrong", ""]) {
        const res = await call(emu, method, path, { token });
        expect(res.status, `${method} ${path} ${token}`).toBe(401);
        expect(res.contentType).toMatch(/^application\/problem\+json/);
        expect(res.json).toEqual(UNAUTHENTICATED);
      }
    }
    const basic = await fetch(`${emu.url}/account`, { headers: { authorization: `Basic ${emu.token}` } });
    expect(basic.status).toBe(401);
  });

  it("accepts Bearer and the legacy Token scheme; each token is its own account", async () => {
    const token = await fetch(`${emu.url}/account`, { headers: { authorization: `Token ${emu.token}` } });
    expect(token.status).toBe(200);
    expect((await call(emu, "GET", "/account")).json).toMatchObject({ type: "user", username: "alice" });
    expect((await call(emu, "GET", "/account", { token: "test-token-acme" })).json).toMatchObject({ type: "organization", username: "acme" });
  });

  it("never records the token", () => {
    const serialized = JSON.stringify(emu.requests);
    expect(serialized).not.toContain("test-token-alice");
    expect(emu.requests.some((r) => r.headers.authorization === "[redacted]")).toBe(true);
    expect(emu.requestsTo("GET", "/v1/account").at(-1)?.account).toBe("acme");
  });
});

describe("models", () => {
  const body = (name: string, extra: Record<string, unknown> = {}) => ({ owner: "alice", name, visibility: "private", hardware: "gpu-h100", ...extra });

  it("creates a model for the caller's own account only", async () => {
    const res = await call(emu, "POST", "/models", { body: body("first", { description: "d" }) });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ owner: "alice", name: "first", visibility: "private", description: "d", latest_version: null, run_count: 0 });
    expect(emu.models.get("alice/first")?.hardware).toBe("gpu-h100");
    const foreign = await call(emu, "POST", "/models", { body: body("x", { owner: "acme" }) });
    expect(foreign.status).toBe(403);
    expect(foreign.contentType).toMatch(/problem\+json/);
    expect(emu.models.has("acme/x")).toBe(false);
  });

  it("refuses a duplicate name with 409 problem+json", async () => {
    const res = await call(emu, "POST", "/models", { body: body("first") });
    expect(res.status).toBe(409);
    expect(res.contentType).toMatch(/problem\+json/);
    expect(res.json.status).toBe(409);
  });

  it("refuses missing fields, bad names, visibility and hardware with 400", async () => {
    for (const b of [
      { owner: "alice", name: "n", visibility: "private" },
      body("Upper"),
      body("-dash"),
      body("a..b"),
      body("ok-name", { visibility: "secret" }),
      body("ok-name", { hardware: "quantum" }),
    ]) {
      expect((await call(emu, "POST", "/models", { body: b })).status, JSON.stringify(b)).toBe(400);
    }
    const raw = await fetch(`${emu.url}/models`, { method: "POST", headers: { authorization: `Bearer ${emu.token}`, "content-type": "application/json" }, body: "{nope" });
    expect(raw.status).toBe(400);
  });

  it("enforces the per-account model limit", async () => {
    expect((await call(emu, "POST", "/models", { body: body("second") })).status).toBe(201);
    expect((await call(emu, "POST", "/models", { body: body("third") })).status).toBe(201);
    const over = await call(emu, "POST", "/models", { body: body("fourth") });
    expect(over.status).toBe(400);
    expect(over.json.detail).toMatch(/limit of 3 models/);
    expect((await call(emu, "POST", "/models", { token: "test-token-acme", body: body("fourth", { owner: "acme" }) })).status).toBe(201);
  });

  it("404s a missing model, a private model of someone else, and a missing version", async () => {
    expect((await call(emu, "GET", "/models/alice/nope")).status).toBe(404);
    const hidden = await call(emu, "GET", "/models/alice/first", { token: "test-token-acme" });
    expect(hidden.status).toBe(404);
    expect(hidden.json).toEqual({ detail: "Not found.", status: 404 });
    expect((await call(emu, "GET", "/models/alice/first")).status).toBe(200);
    expect((await call(emu, "GET", "/models/ostris/flux-dev-lora-trainer", { token: "test-token-acme" })).status).toBe(200);
    expect((await call(emu, "GET", `/models/alice/first/versions/${"c".repeat(64)}`)).status).toBe(404);
    const v = emu.createVersion("alice/first");
    expect((await call(emu, "GET", `/models/alice/first/versions/${v}`, { token: "test-token-acme" })).status).toBe(404);
  });

  it("serves planted versions and schemas, and forgets deleted ones", async () => {
    const v1 = emu.createVersion("alice/second");
    const v2 = emu.createVersion("alice/second", { inputSchema: { type: "object", required: ["prompt"], properties: { prompt: { type: "string" }, guidance: { type: "number" } } } });
    let model = (await call(emu, "GET", "/models/alice/second")).json;
    expect(model.latest_version.id).toBe(v2);
    expect(Object.keys(model.latest_version.openapi_schema.components.schemas.Input.properties)).toEqual(["prompt", "guidance"]);
    emu.setVersionSchema("alice/second", v1, { type: "object", properties: { only: { type: "string" } } });
    const version = (await call(emu, "GET", `/models/alice/second/versions/${v1}`)).json;
    expect(version.openapi_schema.components.schemas.Input.properties).toEqual({ only: { type: "string" } });
    emu.deleteVersion("alice/second", v2);
    model = (await call(emu, "GET", "/models/alice/second")).json;
    expect(model.latest_version.id).toBe(v1);
    expect((await call(emu, "GET", `/models/alice/second/versions/${v2}`)).status).toBe(404);
    const list = (await call(emu, "GET", "/models/alice/second/versions")).json;
    expect(list.results.map((v: { id: string }) => v.id)).toEqual([v1]);
  });

  it("405s a wrong method, 404s an unknown route", async () => {
    expect((await call(emu, "DELETE", "/account")).status).toBe(405);
    expect((await call(emu, "GET", "/nothing-here")).status).toBe(404);
  });
});
