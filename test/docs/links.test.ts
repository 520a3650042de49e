/**
 * The documentation is complete inside a clone: every relative link of README.md and docs/
 * resolves to a file of the repository, and nothing points outside it (not the project's shared
 * folder beside the clone, nor an absolute path of the machine it was written on).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
// Spelled in pieces so that this file does not itself point outside the repository.
const SHARED = ["..", "shared"].join("/");
const OUTSIDE = new RegExp(`${SHARED.replaceAll(".", "\\.")}|/${"wo" + "rk"}/`);
const PAGES = [
  "README.md",
  "bench/README.md",
  "test/support/emulator/README.md",
  ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`),
];

/** Markdown links `[text](target)` whose target is not a URL or an in-page anchor. */
export function relativeLinks(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((t) => !/^(https?:|mailto:|#)/.test(t));
}

it("every relative link in README.md and docs/ resolves inside the repository", () => {
  expect(relativeLinks(`[a](docs/x.md#y) [b](https://e.com) [c](#z) [d](${SHARED}/C.md)`)).toEqual(["docs/x.md#y", `${SHARED}/C.md`]);
  expect(OUTSIDE.test(`see ${SHARED}/C.md`) && !OUTSIDE.test("see ./shared-things.md")).toBe(true);
  const broken: string[] = [];
  for (const page of PAGES) {
    const text = readFileSync(join(ROOT, page), "utf8");
    for (const link of relativeLinks(text)) {
      const target = resolve(ROOT, dirname(page), link.replace(/#.*$/, ""));
      if (relative(ROOT, target).startsWith("..") || !existsSync(target)) broken.push(`${page}: ${link}`);
    }
    if (OUTSIDE.test(text)) broken.push(`${page}: mentions a path outside the repository`);
  }
  expect(broken).toEqual([]);
});
