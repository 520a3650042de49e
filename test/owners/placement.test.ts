/**
 * Owners against the emulator with several accounts: where new users go, that every call for a
 * user carries that user's owner's token, drain, a full pool refused before any request, and an
 * account that is full at Replicate before its configured capacity.
 */
import { expect, it } from "vitest";
import { ConfigError, StateError } from "../../src/errors.js";
import { generate } from "../../src/generation/generate.js";
import { addOwner, drainOwner, listOwners } from "../../src/owners/owners.js";
import { refreshTraining, startTraining } from "../../src/training/index.js";
import { caught } from "../support/caught.js";
import { makeContext } from "../support/context.js";
import { forEachBackend } from "../support/databases.js";
import { startEmulator } from "../support/emulator/index.js";
import { tempDir } from "../support/temp-dirs.js";
import { events, trainingRows } from "../training/training-helpers.js";
import { ACCOUNTS, ownerRows, placements, TOKENS, tokenEnvOf, ownersTestBed } from "./owners-support.js";

const bed = ownersTestBed();

/** The accounts whose tokens made the API requests so far (output downloads carry no token). */
const accountsSeen = () => [...new Set(bed.emu.requests.filter((r) => r.path.startsWith("/v1/")).map((r) => r.account))];

forEachBackend((backend) => {
  const setUp = async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, bed.emu, { tokens: TOKENS });
    const add = (name: string, capacity: number) => addOwner(ctx, { name, tokenEnv: tokenEnvOf(name), capacity }, { actor: "admin" });
    const train = (userId: string) => startTraining(ctx, "op", { userId, images: bed.images });
    return { db, ctx, add, train };
  };

  it("with no owner added, the implicit owner takes every user, as before, with its capacity of 1,000", async () => {
    const { db, ctx, train } = await setUp();
    expect(await listOwners(ctx)).toEqual([
      { name: "alice", tokenEnv: "REPLICATE_API_TOKEN", capacity: 1000, used: 0, free: 1000, status: "active", full: false, implicit: true },
    ]);
    // Listing writes nothing.
    expect(await ownerRows(db)).toEqual([]);

    const started = await train("u1");
    expect(started.modelId).toBe("alice/u1-selfie-lora");
    expect(accountsSeen()).toEqual(["alice"]);
    expect(await listOwners(ctx)).toEqual([
      { name: "alice", tokenEnv: "REPLICATE_API_TOKEN", capacity: 1000, used: 1, free: 999, status: "active", full: false, implicit: true },
    ]);
  });

  it("places each new user on the active owner with the most free places (ties by name), and every call for a user uses that owner's token", async () => {
    const { db, ctx, add, train } = await setUp();
    await train("early"); // placed on the implicit owner before any owner is added
    await add("bob", 2);
    await add("carol", 3);

    bed.emu.clearRequests();
    const u1 = await train("u1"); // carol 3 free, bob 2
    expect(u1.modelId).toBe("carol/u1-selfie-lora");
    // Model, upload and training were all made with carol's token, and nothing else was.
    expect(accountsSeen()).toEqual(["carol"]);
    expect(bed.emu.models.get("carol/u1-selfie-lora")?.visibility).toBe("private");
    expect(bed.emu.trainings.get(u1.trainingId)).toMatchObject({ account: "carol", destination: "carol/u1-selfie-lora" });

    await train("u2"); // bob 2, carol 2: name order
    await train("u3"); // carol 2, bob 1
    expect(await placements(db)).toEqual({ early: "alice", u1: "carol", u2: "bob", u3: "carol" });

    // A user stays with their owner: the implicit owner's user trains again there, with its token.
    const first = (await trainingRows(db, "early"))[0]!;
    bed.emu.finishTraining(first.replicate_training_id!, "succeeded");
    await refreshTraining(ctx, "op", "early");
    bed.emu.clearRequests();
    expect((await train("early")).modelId).toBe("alice/early-selfie-lora");
    expect(accountsSeen()).toEqual(["alice"]);

    expect(await listOwners(ctx)).toEqual([
      { name: "bob", tokenEnv: "REPLICATE_TOKEN_BOB", capacity: 2, used: 1, free: 1, status: "active", full: false },
      { name: "carol", tokenEnv: "REPLICATE_TOKEN_CAROL", capacity: 3, used: 2, free: 1, status: "active", full: false },
      // Once owners are added, the implicit owner keeps its users and gets no new ones.
      { name: "alice", tokenEnv: "REPLICATE_API_TOKEN", capacity: 1000, used: 1, free: 0, status: "draining", full: false, implicit: true },
    ]);
    // The tokens are nowhere in the database.
    const dump = JSON.stringify((await db.query(`SELECT * FROM ${db.s}.owners`)).rows) + JSON.stringify(await events(db));
    for (const token of Object.values(TOKENS)) expect(dump).not.toContain(token);
  });

  it("a drained owner keeps its users (who keep training there) and gets no new ones", async () => {
    const { db, ctx, add, train } = await setUp();
    await add("bob", 5);
    await add("carol", 5);
    await train("u1"); // tie: bob
    const drained = await drainOwner(ctx, { name: "bob" }, { actor: "admin" });
    expect(drained).toMatchObject({ name: "bob", status: "draining", used: 1, free: 0 });
    await train("u2");
    await train("u3");
    expect(await placements(db)).toEqual({ u1: "bob", u2: "carol", u3: "carol" });

    const first = (await trainingRows(db, "u1"))[0]!;
    bed.emu.finishTraining(first.replicate_training_id!, "succeeded");
    await refreshTraining(ctx, "op", "u1");
    bed.emu.clearRequests();
    expect((await train("u1")).modelId).toBe("bob/u1-selfie-lora");
    expect(accountsSeen()).toEqual(["bob"]);
    expect(await events(db)).toContainEqual(expect.objectContaining({ action: "owners.drain", operator: "admin", details: { name: "bob", used: 1 } }));
    expect((await caught(drainOwner(ctx, { name: "nobody" }))).code).toBe("OWNER_NOT_FOUND");
  });

  it("POOL_FULL when no owner has room: refused before any upload or paid call, nothing written", async () => {
    const { db, add, train } = await setUp();
    await add("bob", 1);
    await train("u1");
    bed.emu.clearRequests();

    const err = await caught(train("u2"));
    expect(err).toBeInstanceOf(StateError);
    expect(err.code).toBe("POOL_FULL");
    expect(err.message).toContain("sselfie owners add");
    expect(bed.emu.requests).toEqual([]);
    expect(await placements(db)).toEqual({ u1: "bob" });
    expect(await trainingRows(db, "u2")).toEqual([]);
    expect((await events(db, "u2")).map((e) => [e.action, e.outcome, e.details.code])).toEqual([["train", "refused", "POOL_FULL"]]);

    // An owner with room makes it work again; the full one stays as it is.
    await add("carol", 1);
    expect((await train("u2")).modelId).toBe("carol/u2-selfie-lora");
    expect((await ownerRows(db)).map((o) => [o.name, o.used])).toEqual([["bob", 1], ["carol", 1]]);
  });

  it("the implicit owner's capacity is held by the database too", async () => {
    const { db, train } = await setUp();
    await train("u1");
    // As if alice had been configured for a single user.
    await db.query(`UPDATE ${db.s}.owners SET capacity = 1 WHERE name = 'alice'`);
    bed.emu.clearRequests();
    expect((await caught(train("u2"))).code).toBe("POOL_FULL");
    expect(bed.emu.requests).toEqual([]);
  });

  it("an account full at Replicate before its configured capacity is marked full, and the next owner is tried once", async () => {
    const { db, ctx, add } = await setUp();
    await bed.emu.close();
    // bob may own 2 models and already has 2 that sselfie does not know of.
    bed.emu = await startEmulator({
      accounts: ACCOUNTS.map((a) => (a.username === "bob" ? { ...a, maxModels: 2 } : a)),
      training: { startingMs: 10_000, processingMs: 100_000 },
    });
    bed.emu.createModel("bob/other-one");
    bed.emu.createModel("bob/other-two");
    const ctx2 = makeContext(db, bed.emu, { tokens: TOKENS });
    await add("bob", 10);
    await add("carol", 2);

    const started = await startTraining(ctx2, "op", { userId: "u1", images: bed.images });
    expect(started.modelId).toBe("carol/u1-selfie-lora");
    const modelPosts = bed.emu.requestsTo("POST", "/v1/models").map((r) => [r.account, r.status]);
    expect(modelPosts).toEqual([["bob", 400], ["carol", 201]]);
    // Nothing was uploaded with bob's token, and the training went to carol's model.
    expect(bed.emu.requests.filter((r) => r.account === "bob" && r.method === "POST" && r.path !== "/v1/models")).toEqual([]);
    expect(bed.emu.trainings.get(started.trainingId)).toMatchObject({ account: "carol", destination: "carol/u1-selfie-lora" });
    expect((await trainingRows(db, "u1")).map((t) => t.destination)).toEqual(["carol/u1-selfie-lora"]);
    expect(await placements(db)).toEqual({ u1: "carol" });

    const owners = await listOwners(ctx);
    expect(owners.find((o) => o.name === "bob")).toMatchObject({ used: 0, free: 0, full: true, status: "active" });
    expect(owners.find((o) => o.name === "carol")).toMatchObject({ used: 1, free: 1 });
    expect((await events(db, "u1")).map((e) => e.action)).toEqual(["owner.full", "train"]);

    // bob gets no new user any more.
    bed.emu.clearRequests();
    expect((await startTraining(ctx2, "op", { userId: "u2", images: bed.images })).modelId).toBe("carol/u2-selfie-lora");
    expect(accountsSeen()).toEqual(["carol"]);
  });

  it("generation for a user runs with their owner's token", async () => {
    const { ctx, add, train } = await setUp();
    await add("bob", 3);
    const started = await train("u1");
    bed.emu.finishTraining(started.trainingId, "succeeded");
    await refreshTraining(ctx, "op", "u1");
    bed.emu.clearRequests();

    const result = await generate(ctx, "op", { userId: "u1", prompt: "useru1 in a studio", outDir: tempDir("sselfie-owners-gen-") });
    expect(result.version).toMatch(/^bob\/u1-selfie-lora:[0-9a-f]{64}$/);
    expect(bed.emu.requestsTo("POST", "/v1/predictions").map((r) => r.account)).toEqual(["bob"]);
    expect(accountsSeen()).toEqual(["bob"]);
    expect(bed.emu.predictions.get(result.predictionId)?.account).toBe("bob");
  });

  it("an owner whose token variable is unset: a clear configuration error naming the variable, never a token", async () => {
    const { db, add, train } = await setUp();
    await add("dave", 3);
    const ctx = makeContext(db, bed.emu, { tokens: {} });
    const err = await caught(startTraining(ctx, "op", { userId: "u1", images: bed.images }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.code).toBe("MISSING_REPLICATE_TOKEN");
    expect(err.message).toContain("REPLICATE_TOKEN_DAVE");
    expect(bed.emu.requests).toEqual([]);
    // The claim was undone: the user is not held by dave.
    expect(await placements(db)).toEqual({});
    expect((await ownerRows(db)).map((o) => [o.name, o.used])).toEqual([["dave", 0]]);
    void train;
  });

  it("owners add refuses bad input and a second add of the same owner", async () => {
    const { ctx, add } = await setUp();
    await add("bob", 3);
    expect((await caught(add("bob", 3))).code).toBe("OWNER_EXISTS");
    expect((await caught(addOwner(ctx, { name: "bob/x", tokenEnv: "X" }))).code).toBe("INVALID_INPUT");
    expect((await caught(addOwner(ctx, { name: "erin", tokenEnv: "r8_abcdefabcdef" }))).code).toBe("INVALID_INPUT");
    expect((await caught(addOwner(ctx, { name: "erin", tokenEnv: "T", capacity: 0 }))).code).toBe("INVALID_INPUT");
    expect(await addOwner(ctx, { name: "erin", tokenEnv: "REPLICATE_TOKEN_ERIN" })).toMatchObject({ capacity: 1000, used: 0, free: 1000 });
  });
});
