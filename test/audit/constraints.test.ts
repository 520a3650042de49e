/**
 * The database enforces what it can (CONTRACT.md), and the audit trusts only what the catalogue
 * proves: migration 0002's locked-input function agrees with src/locked.ts, and the audit skips a
 * per-row test only while the exact, validated constraint that implies it is in place.
 */
import { expect, it } from "vitest";
import { runAudit } from "../../src/audit/index.js";
import type { Database, Transaction } from "../../src/db/types.js";
import { GUIDANCE_KEYS, buildGenerationInput, hashInput } from "../../src/locked.js";
import { forEachBackend } from "../support/databases.js";
import { cleanRows, dbOnlyContext, insertRows } from "./fixtures.js";

/** The SQL the audit ran, for a clean report. */
async function auditSql(db: Database): Promise<string[]> {
  const seen: string[] = [];
  const spy = {
    ...db,
    transaction: <T>(fn: (tx: Transaction) => Promise<T>) =>
      db.transaction((tx) => fn({ ...tx, query: (sql, params) => (seen.push(sql), tx.query(sql, params)) })),
  };
  const report = await runAudit(dbOnlyContext(spy as Database, "alice"));
  expect(report.violations).toEqual([]);
  return seen;
}
const hashesRows = (sql: string[]) => sql.some((q) => q.includes("sha256("));
const checksUserIds = (sql: string[]) => sql.some((q) => q.includes("x.id ~"));

forEachBackend((backend) => {
  it("generation_input_locked accepts exactly what locked.ts builds, in either guidance form", async () => {
    const db = await backend.freshDatabase();
    const ok = `SELECT ${db.s}.generation_input_locked($1::jsonb, $2, $3, $4) AS ok`;
    const check = async (input: unknown, prompt: string, seed: number, hash: string) =>
      (await db.query<{ ok: boolean }>(ok, [JSON.stringify(input), prompt, seed, hash])).rows[0]!.ok;
    for (const key of GUIDANCE_KEYS) {
      for (const [prompt, seed] of [["a \"b\" \\ c\n\u0001 é 写 🙂 \u2028", 0], ["plain", 999_999]] as const) {
        const input = buildGenerationInput(prompt, seed, key);
        expect(await check(input, prompt, seed, hashInput(input)), `${key} ${prompt}`).toBe(true);
        expect(await check({ ...input, num_outputs: 4 }, prompt, seed, hashInput({ ...input, num_outputs: 4 }))).toBe(false);
        expect(await check(input, `${prompt}!`, seed, hashInput(input))).toBe(false);
        expect(await check(input, prompt, seed === 0 ? 1 : 0, hashInput(input))).toBe(false);
        expect(await check(input, prompt, seed, hashInput({ ...input, seed: 5 }))).toBe(false);
        expect(await check({ ...input, guidance: 2.8, guidance_scale: 2.8 }, prompt, seed, hashInput(input))).toBe(false);
      }
    }
  });

  it("spares the per-row input, hash and user-id tests only while their constraints are proven", async () => {
    const db = await backend.freshDatabase();
    const { rows } = cleanRows("alice", 2);
    await insertRows(db, rows);
    const t = `${db.s}.generations`;
    let sql = await auditSql(db);
    expect(hashesRows(sql)).toBe(false);
    expect(checksUserIds(sql)).toBe(false);

    // Not validated: old rows may break it.
    await db.query(`ALTER TABLE ${t} DROP CONSTRAINT generations_input_locked`);
    await db.query(`ALTER TABLE ${t} ADD CONSTRAINT generations_input_locked CHECK (${db.s}.generation_input_locked(input, prompt, seed, input_hash)) NOT VALID`);
    expect(hashesRows(await auditSql(db))).toBe(true);
    await db.query(`ALTER TABLE ${t} VALIDATE CONSTRAINT generations_input_locked`);
    expect(hashesRows(await auditSql(db))).toBe(false);

    // Weakened: another definition around the same function.
    await db.query(`ALTER TABLE ${t} DROP CONSTRAINT generations_input_locked`);
    await db.query(`ALTER TABLE ${t} ADD CONSTRAINT generations_input_locked CHECK (${db.s}.generation_input_locked(input, prompt, seed, input_hash) OR seed > 0)`);
    expect(hashesRows(await auditSql(db))).toBe(true);
    await db.query(`ALTER TABLE ${t} DROP CONSTRAINT generations_input_locked`);
    await db.query(`ALTER TABLE ${t} ADD CONSTRAINT generations_input_locked CHECK (${db.s}.generation_input_locked(input, prompt, seed, input_hash))`);
    expect(hashesRows(await auditSql(db))).toBe(false);

    // The function replaced by one that accepts anything.
    await db.query(
      `CREATE OR REPLACE FUNCTION ${db.s}.generation_input_locked(input jsonb, prompt text, seed integer, input_hash text)
         RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT true $$`,
    );
    expect(hashesRows(await auditSql(db))).toBe(true);

    // 0001's check on users.id is the user.id rule; without it the rule runs.
    const { rows: c } = await db.query<{ conname: string }>(
      `SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'c'`,
      [`${db.s}.users`],
    );
    for (const r of c) await db.query(`ALTER TABLE ${db.s}.users DROP CONSTRAINT "${r.conname}"`);
    expect(checksUserIds(await auditSql(db))).toBe(true);
  });
});
