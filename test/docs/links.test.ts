/**
 * The documentation is complete inside a clone: every relative link of README.md and docs/
 * resolves to a file of the repository, and nothing points outside it (no `../shared`, no
 * absolute path of the machine it was written on).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
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
  expect(relativeLinks("[a](docs/x.md#y) [b](https://e.com) [c](#z) [d](../shared/C.md)")).toEqual(["docs/x.md#y", "../shared/C.md"]);
  const broken: string[] = [];
  for (const page of PAGES) {
    const text = readFileSync(join(ROOT, page), "utf8");
    for (const link of relativeLinks(text)) {
      const target = resolve(ROOT, dirname(page), link.replace(/#.*$/, ""));
      if (relative(ROOT, target).startsWith("..") || !existsSync(target)) broken.push(`${page}: ${link}`);
    }
    if (/\.\.\/shared|\/work\//.test(text)) broken.push(`${page}: mentions ../shared or /work/`);
  }
  expect(broken).toEqual([]);
});
