/**
 * Counts in CLI text agree with their noun: "1 user", "2 users", never "1 users". The helper, a
 * guard over the CLI's sources (a number followed by a plural noun must go through count()), and
 * the built CLI's audit line for one user.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { openDatabase } from "../../src/db/connect.js";
import { count } from "../../src/cli/plural.js";
import { count as sdkCount } from "../../src/plural.js";
import { cleanRows, insertRows } from "../audit/fixtures.js";
import { runCli } from "../support/cli.js";
import { cliBackend, initAndGetAdminToken } from "../support/cli-env.js";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

it("count() puts the noun in the number of the count", () => {
  for (const c of [count, sdkCount]) {
    expect(c(0, "user")).toBe("0 users");
    expect(c(1, "user")).toBe("1 user");
    expect(c(2, "user")).toBe("2 users");
    expect(c(1_000, "model")).toBe("1,000 models");
    expect(c(1, "local output file")).toBe("1 local output file");
    expect(c(3, "entry", "entries")).toBe("3 entries");
  }
});

it("no CLI text puts an interpolated number before a plural noun, or writes (s)", () => {
  // `${n} users`, `${number(c.models)} models`, `${p.deleted} row(s)`: each reads wrong for 1.
  const nouns = "users|models|trainings|generations|files|images|photos|violations|findings|items|rows|versions|uploads|predictions|operators|owners";
  const numberThenNoun = new RegExp(`\\$\\{[^}]*\\}\\)?\\s(?:${nouns})\\b`);
  const offenders = filesUnder(join(SRC, "cli")).flatMap((file) =>
    readFileSync(file, "utf8")
      .split("\n")
      .map((line, i) => ({ line, at: `${relative(SRC, file)}:${i + 1}` }))
      .filter(({ line }) => numberThenNoun.test(line) || /[a-z]\(s\)[ .,…:`]/.test(line))
      .map(({ line, at }) => `${at}: ${line.trim()}`),
  );
  expect(offenders).toEqual([]);
});

it("audit of a single user says 1 user, 1 model, 1 training", async () => {
  const backend = cliBackend("embedded");
  const env = await backend.env();
  const admin = await initAndGetAdminToken(env);
  const db = await openDatabase({ home: env.SSELFIE_HOME! });
  try {
    await insertRows(db, cleanRows("alice", 1).rows);
  } finally {
    await db.close();
  }
  const text = await runCli(["audit", "--all"], { env: { ...env, SSELFIE_TOKEN: admin, REPLICATE_OWNER: "alice" } });
  expect(text.code, text.stdout + text.stderr).toBe(0);
  expect(text.stdout).toMatch(/Compliant: 1 user \(1 model, 1 training, \d+ generations?\)\./);
  expect(text.stdout).not.toMatch(/\b1 (users|models|trainings|generations)\b/);
});
