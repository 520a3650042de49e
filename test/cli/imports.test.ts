/**
 * The CLI calls nothing but the SDK's public surface (CONTRACT.md, "SDK"): every file under
 * src/cli imports from src/ only the facade entry src/index.ts, besides its own files and packages.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));
const CLI = join(SRC, "cli");
const FACADE = join(SRC, "index.ts");

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** Every module a file imports: static imports, re-exports, `import type` and dynamic `import()`. */
export function importsOf(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles.map((f) => f.fileName);
}

/** The imports of src/cli/** that reach into src/ past the facade. */
export function deepImports(): string[] {
  return filesUnder(CLI).flatMap((file) =>
    importsOf(file)
      .filter((spec) => spec.startsWith("."))
      .map((spec) => resolve(dirname(file), spec.replace(/\.js$/, ".ts")))
      .filter((target) => !target.startsWith(CLI + "/") && target !== FACADE)
      .map((target) => `${relative(SRC, file)} -> ${relative(SRC, target)}`),
  );
}

it("the CLI imports nothing from src/ but the facade (src/index.ts) and its own files", () => {
  expect(filesUnder(CLI).length).toBeGreaterThan(5);
  // The scanner sees every form of import (so that the check below can fail).
  expect(ts.preProcessFile(`import a from "./a.js"; import type { B } from "../b.js"; export { c } from "./c.js"; await import("./d.js");`, true, true)
    .importedFiles.map((f) => f.fileName)).toEqual(["./a.js", "../b.js", "./c.js", "./d.js"]);
  expect(deepImports()).toEqual([]);
});
