/** The files `scan` reads: every JS/TS source under the given paths, minus dependencies and build output. */
import { opendir, stat } from "node:fs/promises";
import { extname, join, resolve } from "node:path";
import { InvalidInputError } from "../errors.js";

export const SOURCE_EXTENSIONS: ReadonlySet<string> = new Set([".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".mts", ".cts"]);
/** Folders never entered while walking (a path given explicitly is still scanned). */
export const SKIPPED_DIRECTORIES: ReadonlySet<string> = new Set(["node_modules", "dist", "build", ".git"]);

export const isSourceFile = (name: string) => SOURCE_EXTENSIONS.has(extname(name));

/** Refuses, before reading anything, paths that do not exist (exit 2), naming every one. */
export async function checkPaths(paths: readonly string[], cwd: string): Promise<Array<{ path: string; directory: boolean }>> {
  const checked = await Promise.all(
    paths.map(async (p) => {
      const abs = resolve(cwd, p);
      const s = await stat(abs).catch(() => null);
      return { p, abs, s };
    }),
  );
  const missing = checked.filter((c) => !c.s || (!c.s.isFile() && !c.s.isDirectory()));
  if (missing.length > 0) {
    const names = missing.map((m) => JSON.stringify(m.p)).join(", ");
    throw new InvalidInputError(`Nothing to scan at ${names}: no such file or folder.`, { paths: missing.map((m) => m.p) }, "SCAN_PATH_NOT_FOUND");
  }
  return checked.map((c) => ({ path: c.abs, directory: c.s!.isDirectory() }));
}

/**
 * Yields absolute paths of source files, in directory order. Symbolic links are not followed (no
 * cycles, no scanning outside the tree); an explicitly given file is scanned when it is a source file.
 */
export async function* sourceFiles(roots: Array<{ path: string; directory: boolean }>, signal?: AbortSignal): AsyncGenerator<string> {
  const seen = new Set<string>();
  for (const root of roots) {
    if (!root.directory) {
      if (isSourceFile(root.path) && !seen.has(root.path)) {
        seen.add(root.path);
        yield root.path;
      }
      continue;
    }
    const stack = [root.path];
    while (stack.length > 0) {
      signal?.throwIfAborted();
      const dir = stack.pop()!;
      const subdirs: string[] = [];
      for await (const entry of await opendir(dir)) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) {
          if (!SKIPPED_DIRECTORIES.has(entry.name)) subdirs.push(path);
        } else if (entry.isFile() && isSourceFile(entry.name) && !seen.has(path)) {
          seen.add(path);
          yield path;
        }
      }
      stack.push(...subdirs.sort().reverse());
    }
  }
}
