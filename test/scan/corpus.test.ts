/**
 * `scanCode` over the corpus of realistic backend code: exactly the planted findings (rule, file,
 * line, and a column on the offending literal, key or call), none in clean files or in the folders
 * it must skip; bad paths refused before anything is read.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isSselfieError } from "../../src/errors.js";
import { SCAN_RULES, scanCode } from "../../src/scan/index.js";
import { corpusCopy, corpusFiles, expectedFindings, sortFindings } from "../support/scan-corpus.js";
import { tempDir } from "../support/temp-dirs.js";

describe("scan over the corpus", () => {
  const dir = corpusCopy();

  it("reports exactly the planted findings, each at its literal, key or call", async () => {
    const report = await scanCode({ cwd: dir }, { workers: 0 });
    expect(report.parseErrors).toEqual([]);
    expect(report.scanned).toBe(corpusFiles().length);
    const expected = expectedFindings();
    // The markers themselves are checked: dropping one from the corpus cannot go unnoticed.
    expect(expected.length).toBe(25);
    expect(sortFindings(report.findings).map(({ rule, file, line }) => ({ rule, file, line }))).toEqual(expected);
    expect(report.ok).toBe(false);
    expect(report.findings.filter((f) => f.file.startsWith("clean/"))).toEqual([]);

    for (const f of report.findings) {
      const line = readFileSync(join(dir, f.file), "utf8").split("\n")[f.line - 1]!;
      const at = line.slice(f.column - 1);
      if (f.rule === "scan.shared-model") expect(at, `${f.file}:${f.line}`).toMatch(/^["'`]/);
      if (f.rule === "scan.direct-call") expect(at, `${f.file}:${f.line}`).toMatch(/^replicate\./);
      if (f.rule === "scan.lora-weights" || f.rule === "scan.unlocked-input") {
        expect(at, `${f.file}:${f.line}`).toMatch(/^\w+/);
        expect(f.message).toContain(/^\w+/.exec(at)![0]);
      }
      expect(SCAN_RULES.map((r) => r.id)).toContain(f.rule);
    }
  });

  it("names the value in its message: the fixed model, the locked value", async () => {
    const report = await scanCode({ paths: ["next-app/app/api/generate/route.ts", "express"], cwd: dir }, { workers: 0 });
    const messages = report.findings.map((f) => `${f.file}:${f.line} ${f.message}`);
    expect(messages).toContain('next-app/app/api/generate/route.ts:9 replicate.run generates from the fixed "black-forest-labs/flux-dev-lora", not from the end user\'s own model.');
    expect(messages).toContain("next-app/app/api/generate/route.ts:14 replicate.run sets num_inference_steps to 28; it is locked at 35.");
    expect(messages).toContain("next-app/app/api/generate/route.ts:13 replicate.run sets guidance from a value computed at run time; it is locked at 2.8.");
    expect(messages).toContain("express/raw-fetch.js:12 fetch /v1/predictions sets disable_safety_checker to true; it is locked at false.");
    expect(report.scanned).toBe(4);
  });

  it("a locked value, the user's own model and reading calls alone are not findings; creating is", async () => {
    const own = tempDir("sselfie-scan-own-");
    writeFileSync(
      join(own, "locked.ts"),
      `import Replicate from "replicate";
const replicate = new Replicate();
const GUIDANCE = 2.8;
export const go = (ref: string, prompt: string) =>
  replicate.predictions.create({ version: ref, input: { prompt, guidance: GUIDANCE, num_outputs: 3, aspect_ratio: "3:4", seed: 7 } });
export const read = (id: string) => replicate.predictions.get(id);
`,
    );
    const report = await scanCode({ cwd: own }, { workers: 0 });
    expect(report.findings.map(({ rule, line, column }) => ({ rule, line, column }))).toEqual([{ rule: "scan.direct-call", line: 5, column: 3 }]);
  });

  it("lines and columns as editors count them: CRLF line ends, UTF-16 columns after an emoji", async () => {
    const d = tempDir("sselfie-scan-columns-");
    const code = ['import Replicate from "replicate";', "const r = new Replicate();", 'const hi = "📸"; await r.run("black-forest-labs/flux-dev", { input: {} });', ""];
    writeFileSync(join(d, "crlf.mjs"), code.join("\r\n"));
    const report = await scanCode({ cwd: d }, { workers: 0 });
    expect(report.findings.map(({ rule, line, column }) => ({ rule, line, column }))).toEqual([
      { rule: "scan.shared-model", line: 3, column: code[2]!.indexOf('"black') + 1 },
    ]);
  });

  it("refuses paths that do not exist (INVALID_INPUT kind, exit 2), naming each, before reading anything", async () => {
    const err = await scanCode({ paths: ["express", "nope", "also/missing.ts"], cwd: dir }).catch((e: unknown) => e);
    expect(isSselfieError(err) && err.code).toBe("SCAN_PATH_NOT_FOUND");
    expect((err as Error).message).toBe('Nothing to scan at "nope", "also/missing.ts": no such file or folder.');
  });

  it("an explicit non-source file is passed over; an empty folder is clean", async () => {
    const empty = tempDir("sselfie-scan-empty-");
    writeFileSync(join(empty, "notes.md"), "replicate.run('black-forest-labs/flux-dev')");
    const report = await scanCode({ paths: ["notes.md", "."], cwd: empty }, { workers: 0 });
    expect(report).toMatchObject({ ok: true, scanned: 0, findings: [] });
  });

  it("stops when aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(scanCode({ cwd: dir }, { signal: controller.signal })).rejects.toThrow(/abort/i);
  });
});
