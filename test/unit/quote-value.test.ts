/**
 * Values a caller gave are quoted in error messages, cut to 40 characters when longer: a
 * 10,000-character user id must not come back as 10,000 characters of error. Checked on the
 * helper, on every validator that quotes its input, and on the built CLI (message and --json details).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import {
  quoteValue,
  validateCapacity,
  validateOperatorName,
  validateOwnerName,
  validatePricePerSecond,
  validateScopes,
  validateSeed,
  validateServeParams,
  validateSince,
  validateSteps,
  validateUsd,
  validateUserId,
} from "../../src/index.js";
import { runCli } from "../support/cli.js";

const LONG = "a".repeat(10_000);
const home = mkdtempSync(join(tmpdir(), "sselfie-long-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("accepted");
}

it("quoteValue keeps short values whole and cuts long ones at 40 characters, saying how long they were", () => {
  expect(quoteValue("42")).toBe('"42"');
  expect(quoteValue("x".repeat(40))).toBe(JSON.stringify("x".repeat(40)));
  expect(quoteValue(LONG)).toBe(`"${"a".repeat(40)}…" (10,000 characters)`);
  // Characters, not UTF-16 units: an emoji is never cut in half.
  expect(quoteValue("😀".repeat(50))).toBe(`"${"😀".repeat(40)}…" (50 characters)`);
  expect(quoteValue(12)).toBe("12");
  expect(quoteValue(undefined)).toBe("undefined");
});

it.each([
  ["validateUserId", () => validateUserId(LONG)],
  ["validateSeed", () => validateSeed(LONG)],
  ["validateSteps", () => validateSteps(LONG)],
  ["validateOperatorName", () => validateOperatorName(LONG)],
  ["validateScopes", () => validateScopes(LONG)],
  ["validateOwnerName", () => validateOwnerName(LONG)],
  ["validateCapacity", () => validateCapacity(LONG)],
  ["validateSince", () => validateSince(LONG)],
  ["validateUsd", () => validateUsd(LONG)],
  ["validatePricePerSecond", () => validatePricePerSecond(LONG)],
  ["validateServeParams (host)", () => validateServeParams({ host: LONG })],
])("%s quotes at most 40 characters of a 10,000-character value", (_name, fn) => {
  const message = messageOf(fn);
  expect(message).not.toContain("a".repeat(41));
  expect(message.length).toBeLessThan(500);
  expect(message).toMatch(/…" \(10,000 characters\)/);
});

it("the built CLI answers a 10,000-character --user with a short error, text and --json", async () => {
  const env = { SSELFIE_HOME: home };
  const text = await runCli(["status", "--user", LONG], { env });
  expect(text.code).toBe(2);
  expect(text.stderr).toContain(`Invalid user id "${"a".repeat(40)}…" (10,000 characters)`);
  expect(text.stderr.length).toBeLessThan(500);
  const json = await runCli(["status", "--user", LONG, "--json"], { env });
  expect(json.code).toBe(2);
  expect(json.stdout.length).toBeLessThan(800);
  expect(json.json.error.code).toBe("INVALID_INPUT");
  expect(JSON.stringify(json.json)).not.toContain("a".repeat(41));
});
