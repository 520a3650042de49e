/**
 * A table check's planner settings (TableCheck.settings) hold for its own queries only: set before
 * its first query, back to what the transaction had after its last, the audit's own settings
 * included.
 */
import { expect, it } from "vitest";
import { runTableCheck, SqlParams, type TableCheck } from "../../src/audit/sql-check.js";
import type { Queryable } from "../../src/db/types.js";
import { forEachBackend } from "../support/databases.js";

/** A check over `users` whose one rule holds on every row where enable_hashjoin is off. */
function hashjoinCheck(s: string, settings?: Record<string, string>): TableCheck<{ user_id: string; hashjoin: string }> {
  return {
    with: "",
    from: `${s}.users x`,
    detail: "x.id AS user_id, current_setting('enable_hashjoin') AS hashjoin",
    order: "x.id",
    params: new SqlParams(),
    rules: [{ id: "hashjoin-off", when: "current_setting('enable_hashjoin') = 'off'" }],
    ...(settings ? { settings } : {}),
    describe: (_rule, row) => ({ userId: row.user_id, message: `enable_hashjoin ${row.hashjoin}` }),
  };
}

const setting = async (db: Queryable, name: string) =>
  (await db.query<{ v: string }>("SELECT current_setting($1) AS v", [name])).rows[0]!.v;

forEachBackend((backend) => {
  it("applies a check's settings to its queries alone and restores the transaction's", async () => {
    const db = await backend.freshDatabase();
    await db.query(`INSERT INTO ${db.s}.users (id) VALUES ('a1'), ('b2')`);
    await db.transaction(async (tx) => {
      await tx.query("SET LOCAL enable_nestloop = off");
      const plain = await runTableCheck(tx, hashjoinCheck(db.s), 10);
      expect(plain.counts.size).toBe(0);

      const planned = await runTableCheck(tx, hashjoinCheck(db.s, { enable_hashjoin: "off", enable_nestloop: "on" }), 10);
      // Counted and listed under the check's settings.
      expect(planned.counts.get("hashjoin-off")).toBe(2);
      expect(planned.listed.map((f) => f.message)).toEqual(["enable_hashjoin off", "enable_hashjoin off"]);
      // Afterwards, the transaction's own: the server's default, and the audit's SET LOCAL.
      expect(await setting(tx, "enable_hashjoin")).toBe("on");
      expect(await setting(tx, "enable_nestloop")).toBe("off");
    });
  });
});
