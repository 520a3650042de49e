/**
 * The scan corpus (test/fixtures/scan-corpus) copied into a temporary folder, with folders the
 * scan must skip (node_modules, dist, build, .git) planted full of findings, and the findings the
 * corpus plants: a comment `// expect: <rule> [<rule>...]` at the end of a line.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir } from "./temp-dirs.js";

export const CORPUS = fileURLToPath(new URL("../fixtures/scan-corpus/", import.meta.url));

export interface Expected {
  rule: string;
  file: string;
  line: number;
}

/** Code with a finding on every line that has one: skipped folders must not report it. */
export const BAD_CODE = `import Replicate from "replicate";
const replicate = new Replicate();
export const run = (prompt) => replicate.run("black-forest-labs/flux-dev", { input: { prompt, lora_weights: "x", guidance: 3.5 } });
`;

export const SKIPPED_PLANTS = ["node_modules/replicate-demo/index.js", "dist/server.js", "build/route.mjs", ".git/hooks/pre-commit.js", "app/node_modules/x/y.ts"];

/** A fresh copy of the corpus under `<tmp>/<prefix>`, with the skipped folders planted. */
export function corpusCopy(prefix = "sselfie-scan-"): string {
  const dir = tempDir(prefix);
  cpSync(CORPUS, dir, { recursive: true });
  for (const p of SKIPPED_PLANTS) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), BAD_CODE);
  }
  return dir;
}

/** Every source file of the corpus, relative, with forward slashes. */
export function corpusFiles(): string[] {
  return readdirSync(CORPUS, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(?:[cm]?[jt]s|[jt]sx)$/.test(e.name))
    .map((e) => relative(CORPUS, join(e.parentPath, e.name)).split(sep).join("/"))
    .sort();
}

export function expectedFindings(): Expected[] {
  const out: Expected[] = [];
  for (const file of corpusFiles()) {
    readFileSync(join(CORPUS, file), "utf8")
      .split("\n")
      .forEach((text, i) => {
        const m = /\/\/ expect: ([\w. -]+)$/.exec(text);
        if (m) for (const rule of m[1]!.trim().split(/\s+/)) out.push({ rule, file, line: i + 1 });
      });
  }
  return sortFindings(out);
}

export function sortFindings<T extends Expected>(xs: T[]): T[] {
  return [...xs].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0)));
}
