/**
 * No false alarms: 1,000 users in every shape clean data takes (see fixtures.ts), written with the
 * locked rules of src/locked.ts, audit with zero findings, whole and user by user.
 */
import { expect, it } from "vitest";
import { runAudit } from "../../src/audit/index.js";
import { forEachBackend } from "../support/databases.js";
import { cleanRows, dbOnlyContext, insertRows } from "./fixtures.js";

forEachBackend((backend) => {
  it("1,000 clean users with trainings and generations: zero findings", async () => {
    const db = await backend.freshDatabase();
    const { rows, users } = cleanRows("alice", 1000);
    await insertRows(db, rows);
    const report = await runAudit(dbOnlyContext(db, "alice"));
    expect(report.violations).toEqual([]);
    expect(report.counts).toEqual({});
    expect(report.ok).toBe(true);
    expect(report.checked).toEqual({
      users: 1000,
      models: rows.models.length,
      trainings: rows.trainings.length,
      generations: rows.generations.length,
    });
    expect(rows.generations.length).toBeGreaterThan(1000);

    // One user of every kind on its own (the per-user queries take other plans).
    for (const u of users.slice(0, 10)) {
      const one = await runAudit(dbOnlyContext(db, "alice"), { userId: u.id });
      expect(one.violations, u.kind).toEqual([]);
      expect(one.checked.users).toBe(1);
    }
  });
});
