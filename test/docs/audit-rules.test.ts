/** docs/audit.md documents every audit rule the SDK can report (generation.unfinished was missing). */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { AUDIT_RULES } from "../../src/audit/rules.js";

const DOC = readFileSync(fileURLToPath(new URL("../../docs/audit.md", import.meta.url)), "utf8");

it("every rule has a row in docs/audit.md", () => {
  expect(AUDIT_RULES.length).toBeGreaterThan(10);
  expect(AUDIT_RULES.map((r) => r.id).filter((id) => !DOC.includes(`| \`${id}\` |`))).toEqual([]);
});
