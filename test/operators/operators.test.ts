import { expect, it } from "vitest";
import { listEvents } from "../../src/db/operator-events.js";
import {
  authenticate,
  bootstrapFirstAdmin,
  createOperator,
  listOperators,
  revokeOperator,
} from "../../src/operators/operators.js";
import { StateError } from "../../src/errors.js";
import { forEachBackend } from "../support/databases.js";

forEachBackend((backend) => {
  it("bootstraps exactly one admin even when asked concurrently", async () => {
    const db = await backend.freshDatabase();
    const results = await Promise.all(Array.from({ length: 5 }, () => bootstrapFirstAdmin(db)));
    expect(results.filter(Boolean)).toHaveLength(1);
    const ops = await listOperators(db);
    expect(ops.map((o) => o.name)).toEqual(["admin"]);
    const { rows } = await db.query<{ token_hash: string }>(`SELECT token_hash FROM ${db.s}.operators`);
    const token = results.find(Boolean)!.token;
    expect(rows[0]!.token_hash).not.toContain(token);
    expect(JSON.stringify(await db.query(`SELECT * FROM ${db.s}.operators`))).not.toContain(token);
  });

  it("authenticates, checks scope, records refusals only as events, revokes", async () => {
    const db = await backend.freshDatabase();
    const admin = (await bootstrapFirstAdmin(db))!;
    const actor = await authenticate(db, admin.token, "admin", { action: "test" });
    expect(actor).toEqual({ name: "admin", scopes: ["admin"] });
    const reader = await createOperator(db, actor.name, { name: "reader", scopes: "read" });

    await expect(authenticate(db, reader.token, "train", { action: "train", userId: "42" })).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
    await expect(authenticate(db, undefined, "read", { action: "status" })).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
    await expect(authenticate(db, "sselfie_garbage", "read", { action: "status" })).rejects.toMatchObject({
      code: "UNAUTHENTICATED",
    });

    const refused = (await listEvents(db, db.s)).filter((e) => e.outcome === "refused");
    expect(refused.map((e) => [e.operator, e.action, e.user_id, e.details.reason])).toEqual([
      ["reader", "train", "42", "missing scope"],
      [null, "status", null, "no token"],
      [null, "status", null, "malformed token"],
    ]);
    // No user, model or training row was written by the refusals.
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${db.s}.users`);
    expect(rows[0]!.n).toBe(0);

    await revokeOperator(db, actor.name, "reader");
    await expect(authenticate(db, reader.token, "read", { action: "status" })).rejects.toMatchObject({
      code: "UNAUTHENTICATED",
      message: expect.stringMatching(/revoked/),
    });
    await expect(revokeOperator(db, actor.name, "reader")).rejects.toMatchObject({ code: "OPERATOR_NOT_FOUND" });
    await expect(createOperator(db, actor.name, { name: "admin", scopes: "read" })).rejects.toMatchObject({ code: "OPERATOR_EXISTS" });
    await expect(createOperator(db, actor.name, { name: "x", scopes: "root" })).rejects.toMatchObject({ code: "INVALID_INPUT" });

    const ops = await listOperators(db);
    expect(ops.find((o) => o.name === "admin")!.lastUsedAt).not.toBeNull();
    expect(ops.find((o) => o.name === "reader")!.revokedAt).not.toBeNull();
  });

  it("never revokes the last active admin, even when two admins revoke each other at once", async () => {
    const db = await backend.freshDatabase();
    const admin = (await bootstrapFirstAdmin(db))!;
    const actor = (await authenticate(db, admin.token, "admin", { action: "test" })).name;
    await expect(revokeOperator(db, actor, "admin")).rejects.toMatchObject({ code: "LAST_ADMIN", constructor: StateError });
    expect((await listOperators(db)).find((o) => o.name === "admin")!.revokedAt).toBeNull();
    const refused = (await listEvents(db, db.s)).filter((e) => e.action === "operators.revoke");
    expect(refused).toEqual([expect.objectContaining({ outcome: "refused", details: { name: "admin", code: "LAST_ADMIN" } })]);

    // A second admin: either may go, never both.
    await createOperator(db, actor, { name: "second", scopes: "admin,read" });
    const both = await Promise.allSettled([revokeOperator(db, actor, "second"), revokeOperator(db, "second", "admin")]);
    expect(both.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(both.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(["LAST_ADMIN"]);
    expect((await listOperators(db)).filter((o) => o.scopes.includes("admin") && o.revokedAt === null)).toHaveLength(1);
    // Non-admins are revoked as before.
    await createOperator(db, actor, { name: "reader", scopes: "read" });
    await expect(revokeOperator(db, actor, "reader")).resolves.toMatchObject({ name: "reader" });
  });
});

forEachBackend((backend) => {
  it("records a token's last use to the minute: no write for a use within a minute of the last", async () => {
    const db = await backend.freshDatabase();
    const admin = (await bootstrapFirstAdmin(db))!;
    const lastUsed = async () =>
      (await db.query<{ t: string | null }>(`SELECT last_used_at::text AS t FROM ${db.s}.operators WHERE name = 'admin'`)).rows[0]!.t;
    expect(await lastUsed()).toBeNull();
    await authenticate(db, admin.token, "read", { action: "status" });
    const first = await lastUsed();
    expect(first).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await authenticate(db, admin.token, "read", { action: "status" });
    expect(await lastUsed()).toBe(first);
    await db.query(`UPDATE ${db.s}.operators SET last_used_at = now() - interval '61 seconds' WHERE name = 'admin'`);
    const old = await lastUsed();
    await authenticate(db, admin.token, "read", { action: "status" });
    expect(await lastUsed()).not.toBe(old);
  });
});
