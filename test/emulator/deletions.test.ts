/** DELETE of versions (202, gone after a delay with their predictions), models (204 only without versions) and their refusals; the gateway's 404-as-gone. */
import { afterAll, beforeAll, expect, it } from "vitest";
import { createReplicateGateway } from "../../src/replicate/index.js";
import { type Emulator, startEmulator } from "../support/emulator/index.js";
import { call, createModel, eventually } from "./helpers.js";

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({
    accounts: [
      { token: "test-token-alice", username: "alice" },
      { token: "test-token-bob", username: "bob" },
    ],
    versionDeleteMs: 200,
  });
});
afterAll(() => emu.close());

it("a version is deleted asynchronously with its predictions; the model goes only once it has no versions", async () => {
  const model = await createModel(emu, "del-one");
  const v1 = emu.createVersion(model);
  const v2 = emu.createVersion(model);
  const made = await call(emu, "POST", "/predictions", { body: { version: `${model}:${v1}`, input: { prompt: "x" } } });
  expect(made.status).toBe(201);

  const refused = await call(emu, "DELETE", `/models/${model}`);
  expect(refused.status).toBe(409);
  expect(refused.json).toEqual({ title: "Conflict", detail: "Cannot delete a model that has versions. Delete the model's versions first.", status: 409 });

  const accepted = await call(emu, "DELETE", `/models/${model}/versions/${v1}`);
  expect(accepted.status).toBe(202);
  expect(accepted.text).toBe("");
  // Still listed right after the 202: the deletion is asynchronous.
  expect((await call(emu, "GET", `/models/${model}/versions`)).json.results.map((v: { id: string }) => v.id)).toContain(v1);
  await eventually(async () => (await call(emu, "GET", `/models/${model}/versions/${v1}`)).status === 404);
  expect((await call(emu, "GET", `/predictions/${made.json.id}`)).status).toBe(404);
  expect((await call(emu, "GET", `/models/${model}`)).json.latest_version.id).toBe(v2);

  expect((await call(emu, "DELETE", `/models/${model}/versions/${v1}`)).status).toBe(404);
  expect((await call(emu, "DELETE", `/models/${model}/versions/${v2}`)).status).toBe(202);
  await eventually(async () => (await call(emu, "DELETE", `/models/${model}`)).status === 204);
  expect((await call(emu, "GET", `/models/${model}`)).status).toBe(404);
  expect((await call(emu, "DELETE", `/models/${model}`)).status).toBe(404);
});

it("refuses another owner's model (404 when private) and public models (400)", async () => {
  const model = await createModel(emu, "del-two");
  const v = emu.createVersion(model);
  expect((await call(emu, "DELETE", `/models/${model}/versions/${v}`, { token: "test-token-bob" })).status).toBe(404);
  expect((await call(emu, "DELETE", `/models/${model}`, { token: "test-token-bob" })).status).toBe(404);
  const pub = await createModel(emu, "del-pub", "public");
  const pv = emu.createVersion(pub);
  expect((await call(emu, "DELETE", `/models/${pub}/versions/${pv}`, { token: "test-token-bob" })).status).toBe(403);
  expect((await call(emu, "DELETE", `/models/${pub}/versions/${pv}`)).status).toBe(400);
  expect(emu.models.get(model)!.versions.has(v)).toBe(true);
});

it("gateway: listVersions, deleteVersion/deleteModel/deleteFile true when accepted, false when already gone", async () => {
  const gateway = createReplicateGateway({ apiToken: emu.token, baseUrl: emu.url });
  const model = await createModel(emu, "del-three");
  const [owner, name] = model.split("/") as [string, string];
  const v = emu.createVersion(model);
  expect((await gateway.listVersions(owner, name))!.map((x) => x.id)).toEqual([v]);
  expect(await gateway.listVersions(owner, "no-such-model")).toBeNull();
  expect(await gateway.deleteVersion(owner, name, v)).toBe(true);
  await expect(gateway.deleteModel(owner, name)).rejects.toMatchObject({ code: "REPLICATE_CONFLICT" });
  await eventually(async () => (await gateway.listVersions(owner, name))?.length === 0);
  expect(await gateway.deleteVersion(owner, name, v)).toBe(false);
  expect(await gateway.deleteModel(owner, name)).toBe(true);
  expect(await gateway.deleteModel(owner, name)).toBe(false);

  const form = new FormData();
  form.append("content", new Blob([Buffer.from("zip")], { type: "application/zip" }), "a.zip");
  const uploaded = await call(emu, "POST", "/files", { body: form });
  expect(await gateway.deleteFile(uploaded.json.id)).toBe(true);
  expect(await gateway.deleteFile(uploaded.json.id)).toBe(false);
  // A DELETE is repeated after a 5xx (deleting twice ends as once).
  const v2 = emu.createVersion((await createModel(emu, "del-four")));
  emu.inject({ kind: "status", method: "DELETE", path: /del-four\/versions\//, status: 503, times: 1 });
  const retrying = createReplicateGateway({ apiToken: emu.token, baseUrl: emu.url, sleep: async () => undefined });
  expect(await retrying.deleteVersion(emu.owner, "del-four", v2)).toBe(true);
  expect(emu.requestsTo("DELETE", /del-four\/versions\//)).toHaveLength(2);
});
