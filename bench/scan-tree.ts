/** The source files of a tree as `sselfie scan` would see them, for the scan benchmarks. */
import { readdirSync } from "node:fs";
import { join } from "node:path";

const SOURCE = /\.(?:[cm]?[jt]s|[jt]sx)$/;

/** Every JS/TS source file under `dir`, declarations (`.d.ts`) included, node_modules included. */
export function listSourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && SOURCE.test(e.name)) out.push(join(e.parentPath, e.name));
  }
  return out.sort();
}
