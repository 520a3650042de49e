/**
 * Every error code sselfie throws is documented: a script or a backend matches on `code`, so a
 * code that is not in docs/exit-codes-and-json.md or docs/sdk.md is an interface nobody can rely
 * on. The codes are read from the source with a real parser: each `new SomethingError(...)` with
 * an upper-case string literal among its arguments (the code is the first argument of most error
 * classes, the third of InvalidInputError).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseSync } from "oxc-parser";
import { expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CODE = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/;

/** The codes of the error objects a TypeScript source constructs. */
export function thrownCodes(file: string, source: string): string[] {
  const codes: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== "object") return;
    const n = node as { type?: string; callee?: { type: string; name?: string }; arguments?: Array<{ type: string; value?: unknown }> };
    if (n.type === "NewExpression" && n.callee?.type === "Identifier" && /Error$/.test(n.callee.name ?? "")) {
      for (const arg of n.arguments ?? []) {
        if (arg.type === "Literal" && typeof arg.value === "string" && CODE.test(arg.value)) codes.push(arg.value);
      }
    }
    for (const value of Object.values(node)) if (value && typeof value === "object") visit(value);
  };
  visit(parseSync(file, source).program);
  return codes;
}

it("finds codes in first and third position, and nothing else", () => {
  const src = `new StateError("MODEL_NOT_READY", "x"); new InvalidInputError("m", {}, "INVALID_PROMPT"); new Error("NOT A CODE"); foo("NOT_THROWN");`;
  expect(thrownCodes("x.ts", src)).toEqual(["MODEL_NOT_READY", "INVALID_PROMPT"]);
});

it("every error code thrown in src/ is documented", () => {
  const files = readdirSync(join(ROOT, "src"), { recursive: true, encoding: "utf8" }).filter((f) => /\.ts$/.test(f) && !f.endsWith(".d.ts"));
  const thrown = new Set(files.flatMap((f) => thrownCodes(f, readFileSync(join(ROOT, "src", f), "utf8"))));
  const docs = ["docs/exit-codes-and-json.md", "docs/sdk.md"].map((p) => readFileSync(join(ROOT, p), "utf8")).join("\n");
  expect(thrown.size).toBeGreaterThan(40);
  expect([...thrown].filter((code) => !docs.includes(`\`${code}\``)).sort()).toEqual([]);
});
