/**
 * The SQL renderings of locked.ts rules agree with locked.ts: the canonical-JSON hash computed in
 * SQL equals hashInput for every character a prompt may hold, and the audit index of migration
 * 0002 lists exactly the keys the audit's query uses.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { canonicalInputParts, USUAL_SCHEMA_KEYS } from "../../src/audit/generation-checks.js";
import { runAudit } from "../../src/audit/index.js";
import { GUIDANCE_KEYS, buildGenerationInput, canonicalJson, hashInput, lockedInputKeys } from "../../src/locked.js";
import { forEachBackend } from "../support/databases.js";
import { cleanRows, dbOnlyContext, dropLockedInputCheck, hexId, insertRows, iso, T0, HOUR } from "./fixtures.js";

const PROMPT_CHARS = [
  ...Array.from({ length: 0x7f }, (_, i) => String.fromCharCode(i + 1)),
  "\u0080",
  "\u00a0",
  "é",
  "\u2028",
  "\u2029",
  "\ufeff",
  "\uffff",
  "写",
  "🙂",
  "\u{10ffff}",
];

describe("canonical input parts", () => {
  it("rebuild canonicalJson(buildGenerationInput(...)) around any prompt and seed", () => {
    for (const key of GUIDANCE_KEYS) {
      const parts = canonicalInputParts(key);
      for (const [prompt, seed] of [["a \"b\" \\ c\n", 0], ["🙂", 999_999]] as const) {
        const text = parts.beforePrompt + JSON.stringify(prompt) + parts.between + String(seed) + parts.afterSeed;
        expect(text).toBe(canonicalJson(buildGenerationInput(prompt, seed, key)));
      }
    }
  });

  it("migration 0002 indexes exactly the keys the audit looks for", () => {
    const sql = readFileSync(new URL("../../src/db/migrations/0002_audit_support.sql", import.meta.url), "utf8");
    const m = /\?& '\{([^}]*)\}'::text\[\]/.exec(sql);
    expect(m?.[1]?.split(",")).toEqual([...USUAL_SCHEMA_KEYS]);
    expect(USUAL_SCHEMA_KEYS).toEqual(lockedInputKeys(GUIDANCE_KEYS[0]));
  });
});

forEachBackend((backend) => {
  it("hashes every prompt character in SQL exactly as hashInput does", async () => {
    const db = await backend.freshDatabase();
    const { rows, users } = cleanRows("alice", 1);
    const user = users[0]!;
    const version = user.versions[0]!;
    rows.generations = PROMPT_CHARS.map((ch, i) => {
      const prompt = `user${user.id} ${ch} end`;
      const input = buildGenerationInput(prompt, i, "guidance_scale");
      return {
        user_id: user.id,
        version_ref: `${user.modelId}:${version}`,
        prompt,
        input,
        input_hash: hashInput(input),
        seed: i,
        status: "succeeded",
        replicate_prediction_id: `p${hexId(String(i)).slice(0, 20)}`,
        outputs: null,
        created_at: iso(T0 + 2 * HOUR),
        finished_at: null,
        updated_at: iso(T0 + 2 * HOUR),
      };
    });
    await insertRows(db, rows);
    const report = await runAudit(dbOnlyContext(db, "alice"));
    expect(report.checked.generations).toBe(PROMPT_CHARS.length);
    expect(report.violations).toEqual([]);

    // And the check bites: one changed character in a stored prompt breaks input and hash alike.
    // (The database refuses it; without its constraint, the audit's own pass finds it.)
    const forge = () =>
      db.query(`UPDATE ${db.s}.generations SET input_hash = $1 WHERE seed = 10`, [hashInput(buildGenerationInput("other", 10, "guidance_scale"))]);
    await expect(forge()).rejects.toThrow(/generations_input_locked/);
    await dropLockedInputCheck(db);
    await forge();
    const broken = await runAudit(dbOnlyContext(db, "alice"));
    expect(broken.violations.map((v) => v.rule)).toEqual(["generation.input-hash"]);
  });
});
