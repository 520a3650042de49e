/**
 * `sselfie scan` as CI runs it: the built binary, with no token, configuration or database;
 * exit codes 1 / 0 / 2, the JSON document, SARIF that code scanning accepts, and the worker pool
 * (a tree large enough to start it) finding exactly what the calling thread finds.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scanCode } from "../../src/scan/index.js";
import { runCli } from "../support/cli.js";
import { sarifProblems } from "../support/sarif.js";
import { CORPUS, corpusCopy, expectedFindings, sortFindings } from "../support/scan-corpus.js";
import { tempDir } from "../support/temp-dirs.js";

/** Nothing but PATH and an empty HOME: a database or config file would have to appear there. */
function bareEnv() {
  const home = tempDir("sselfie-scan-home-");
  return { home, env: { HOME: home, SSELFIE_HOME: join(home, ".sselfie") } };
}

describe("sselfie scan", () => {
  const dir = corpusCopy();

  it("findings: exit 1; --json is the contract's document; no database, config or token touched", async () => {
    const { home, env } = bareEnv();
    const r = await runCli(["scan", "--json"], { cwd: dir, env });
    expect(r.code).toBe(1);
    expect(Object.keys(r.json)).toEqual(["ok", "scanned", "findings", "parseErrors"]);
    expect(r.json.ok).toBe(false);
    expect(sortFindings(r.json.findings).map(({ rule, file, line }: any) => ({ rule, file, line }))).toEqual(expectedFindings());
    for (const f of r.json.findings) expect(Object.keys(f)).toEqual(["rule", "file", "line", "column", "message"]);
    expect(readdirSync(home)).toEqual([]);
    expect(r.stderr).toBe("");
  });

  it("text: file:line:column rule message, then a summary; --format json without --json too", async () => {
    const r = await runCli(["scan", "express", "--no-color"], { cwd: dir, env: bareEnv().env });
    expect(r.code).toBe(1);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe(
      'express/axios-deployment.ts:6:5 scan.shared-model POST /v1/deployments/acme/flux-portraits/predictions generates from the fixed "acme/flux-portraits", not from the end user\'s own model.',
    );
    expect(r.stdout).toMatch(/✗ 8 findings in 3 files \(3 files scanned, 3 parsed\)\./);
    expect(r.stdout).toMatch(/scan\.lora-weights: Base model \+ LoRA-weights calls are forbidden/);
    const asJson = await runCli(["scan", "express", "--format", "json"], { cwd: dir, env: bareEnv().env });
    expect(asJson.code).toBe(1);
    expect(asJson.json.findings).toHaveLength(8);
  });

  it("clean code: exit 0", async () => {
    const r = await runCli(["scan", "clean", "lib", "--no-color"], { cwd: dir, env: bareEnv().env });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("✓ No Replicate calls around sselfie (4 files scanned, 4 parsed).");
    const json = await runCli(["scan", "clean", "--json"], { cwd: dir, env: bareEnv().env });
    expect(json.json).toEqual({ ok: true, scanned: 3, findings: [], parseErrors: [] });
  });

  it("a missing path: exit 2 and an error naming it, nothing scanned", async () => {
    const r = await runCli(["scan", "express", "no-such-dir", "--json"], { cwd: dir, env: bareEnv().env });
    expect(r.code).toBe(2);
    expect(r.json.error).toEqual({ code: "SCAN_PATH_NOT_FOUND", message: 'Nothing to scan at "no-such-dir": no such file or folder.' });
    const text = await runCli(["scan", "missing.ts", "--no-color"], { cwd: dir, env: bareEnv().env });
    expect(text.code).toBe(2);
    expect(text.stderr).toMatch(/SCAN_PATH_NOT_FOUND.*"missing\.ts"/);
    expect(text.stdout).toBe("");
  });

  it("--format sarif validates against the SARIF 2.1.0 schema, each result at its repository-relative file, line and column", async () => {
    const r = await runCli(["scan", "--format", "sarif"], { cwd: dir, env: bareEnv().env });
    expect(r.code).toBe(1);
    expect(sarifProblems(r.json)).toEqual([]);
    const run = r.json.runs[0];
    expect(run.tool.driver.rules.map((x: { id: string }) => x.id)).toEqual(["scan.shared-model", "scan.lora-weights", "scan.unlocked-input", "scan.direct-call"]);
    const located = run.results.map((x: any) => ({
      rule: x.ruleId,
      file: x.locations[0].physicalLocation.artifactLocation.uri,
      line: x.locations[0].physicalLocation.region.startLine,
    }));
    expect(sortFindings(located)).toEqual(expectedFindings());
    const clean = await runCli(["scan", "clean", "--format", "sarif"], { cwd: dir, env: bareEnv().env });
    expect(clean.code).toBe(0);
    expect(sarifProblems(clean.json)).toEqual([]);
    expect(clean.json.runs[0].results).toEqual([]);
  });

  it("a tree large enough for the worker pool finds exactly what one thread finds", async () => {
    const big = tempDir("sselfie-scan-big-");
    for (const copy of ["a", "b", "c"]) cpSync(CORPUS, join(big, copy), { recursive: true });
    mkdirSync(join(big, "plain"));
    for (let i = 0; i < 200; i++) writeFileSync(join(big, "plain", `m${i}.ts`), `export const f${i} = (db: { run(s: string): void }) => db.run("select ${i}");\n`);
    const alone = await scanCode({ cwd: big }, { workers: 0 });
    expect(alone.scanned).toBeGreaterThan(200); // above the pool's threshold
    const r = await runCli(["scan", "--json"], { cwd: big, env: bareEnv().env });
    expect(r.code).toBe(1);
    expect(r.json.scanned).toBe(alone.scanned);
    expect(r.json.findings).toEqual(alone.findings);
    expect(r.json.findings).toHaveLength(3 * expectedFindings().length);
    expect(existsSync(join(big, "node_modules"))).toBe(false);
  });
});
