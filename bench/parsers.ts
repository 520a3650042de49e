/**
 * Chooses the parser for `sselfie scan`: oxc-parser against @ast-grep/napi on the same files, one
 * thread each, the files read into memory first so only parsing (and one walk to every call) is timed.
 *
 *   npx tsx bench/parsers.ts [dir] [rounds]     (default dir: node_modules, real published code)
 */
import { readFileSync } from "node:fs";
import { Lang, parse as sgParse } from "@ast-grep/napi";
import { parseSync } from "oxc-parser";
import { listSourceFiles } from "./scan-tree.js";
import { median } from "./stats.js";

const dir = process.argv[2] ?? "node_modules";
const rounds = Number(process.argv[3] ?? 3);
const files = listSourceFiles(dir).map((path) => ({ path, text: readFileSync(path, "utf8") }));
const bytes = files.reduce((n, f) => n + Buffer.byteLength(f.text), 0);
console.log(`${files.length} files, ${(bytes / 1e6).toFixed(1)} MB from ${dir}`);

function sgLang(path: string): Lang {
  if (/\.[cm]?tsx$/.test(path)) return Lang.Tsx;
  if (/\.[cm]?ts$/.test(path)) return Lang.TypeScript;
  return Lang.Tsx; // JavaScript with JSX: tree-sitter's tsx grammar reads both
}

function countCalls(node: unknown): number {
  if (!node || typeof node !== "object") return 0;
  let n = (node as { type?: string }).type === "CallExpression" ? 1 : 0;
  for (const v of Object.values(node)) {
    if (Array.isArray(v)) for (const x of v) n += countCalls(x);
    else if (v && typeof v === "object") n += countCalls(v);
  }
  return n;
}

const variants: Record<string, () => number> = {
  "oxc-parser parseSync (parse only)": () => {
    let n = 0;
    for (const f of files) n += parseSync(f.path, f.text).program.body.length;
    return n;
  },
  "oxc-parser parseSync + walk to every call": () => {
    let n = 0;
    for (const f of files) n += countCalls(parseSync(f.path, f.text).program);
    return n;
  },
  "@ast-grep/napi parse (parse only)": () => {
    let n = 0;
    for (const f of files) n += sgParse(sgLang(f.path), f.text).root().children().length;
    return n;
  },
  "@ast-grep/napi parse + findAll(call_expression)": () => {
    let n = 0;
    for (const f of files) n += sgParse(sgLang(f.path), f.text).root().findAll({ rule: { kind: "call_expression" } }).length;
    return n;
  },
};

for (const [name, run] of Object.entries(variants)) {
  const times: number[] = [];
  let out = 0;
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    out = run();
    times.push(performance.now() - t);
  }
  const rss = process.memoryUsage().rss;
  console.log(`${name.padEnd(50)} ${median(times).toFixed(0).padStart(6)} ms  (${out} nodes; rss now ${(rss / 1e6).toFixed(0)} MB)`);
}
