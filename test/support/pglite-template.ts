/**
 * A migrated embedded-database directory, made once and copied wherever a test needs one:
 * creating a PGlite directory takes ~5 s, copying and opening one well under a second.
 *
 *   await copyPgliteTemplate(home);   // `${home}/db` is now a migrated database (schema "sselfie")
 *
 * The template lives in node_modules/.cache/sselfie-test/, keyed by the PGlite version and the
 * migrations' text, so it is rebuilt only when either changes. Safe to call from many workers.
 */
import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readdir, rename, rm, stat } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { embeddedDataDir, openDatabase } from "../../src/db/connect.js";
import { migrate } from "../../src/db/migrate.js";
import { MIGRATIONS } from "../../src/db/migrations/index.js";

const CACHE_DIR = fileURLToPath(new URL("../../node_modules/.cache/sselfie-test/", import.meta.url));
const PREFIX = "pglite-template-";

export function pgliteTemplateDir(): string {
  const manifest = new URL("../../node_modules/@electric-sql/pglite/package.json", import.meta.url);
  const { version } = JSON.parse(readFileSync(manifest, "utf8")) as { version: string };
  const hash = createHash("sha256").update(version);
  for (const m of MIGRATIONS) hash.update(`\0${m.name}\0${m.sql}`);
  return join(CACHE_DIR, PREFIX + hash.digest("hex").slice(0, 12));
}

/** Builds the template if it is missing; returns its path. */
export async function ensurePgliteTemplate(): Promise<string> {
  const dir = pgliteTemplateDir();
  if (await exists(join(dir, "PG_VERSION"))) return dir;
  await mkdir(CACHE_DIR, { recursive: true });
  const home = await mkdtemp(join(CACHE_DIR, "building-"));
  try {
    const db = await openDatabase({ home });
    try {
      await migrate(db);
    } finally {
      await db.close();
    }
    try {
      await rename(embeddedDataDir(home), dir);
    } catch (err) {
      // Another worker finished first: its template is as good as ours.
      if (!["ENOTEMPTY", "EEXIST"].includes((err as NodeJS.ErrnoException).code ?? "")) throw err;
    }
    await pruneOtherTemplates(dir);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
  return dir;
}

/** Makes `${home}/db` a migrated embedded database (replacing nothing: `home` must not have one). */
export async function copyPgliteTemplate(home: string): Promise<string> {
  const template = await ensurePgliteTemplate();
  const target = embeddedDataDir(home);
  await mkdir(home, { recursive: true });
  await cp(template, target, { recursive: true, errorOnExist: true, force: false });
  return target;
}

async function pruneOtherTemplates(keep: string): Promise<void> {
  for (const name of await readdir(CACHE_DIR)) {
    const path = join(CACHE_DIR, name);
    if (name.startsWith(PREFIX) && path !== keep) await rm(path, { recursive: true, force: true });
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
