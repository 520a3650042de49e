/**
 * The pre-built embedded database shipped in the package: a PGlite data directory on which
 * initdb and every migration already ran, for the default schema, made by `npm run build`
 * (scripts/build-embedded-db.mjs) from the migrations of that very build, so it cannot drift
 * from them. A new home is made by unpacking it (well under a second) instead of running initdb
 * and every migration (several seconds, and twice the memory).
 *
 * Beside the tarball, a manifest names the schema and each migration it holds with its checksum;
 * the tarball is used only when they match the running code's migrations (code may know newer
 * ones, which `init` then applies). Otherwise, or when it is missing (sselfie run from source
 * before a build), the caller creates the directory the slow way.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { checksum } from "./migrate.js";
import { MIGRATIONS, type Migration } from "./migrations/index.js";

/** Where the built bundles keep the manifest, relative to themselves (set by tsup). */
declare const __SSELFIE_EMBEDDED_DB__: string | undefined;

export const TEMPLATE_MANIFEST = "embedded-db.json";

export interface TemplateManifest {
  schema: string;
  /** The PGlite version that made it (informative: a data directory PGlite cannot open is not used). */
  pglite: string;
  migrations: Array<{ version: number; name: string; checksum: string }>;
  /** The tarball's file name, beside the manifest. */
  tarball: string;
}

/** The manifest of the package this module was bundled into (or of the repository's last build, when run from source). */
export function defaultManifestPath(): string {
  const relative = typeof __SSELFIE_EMBEDDED_DB__ === "string" ? __SSELFIE_EMBEDDED_DB__ : `../../dist/${TEMPLATE_MANIFEST}`;
  return fileURLToPath(new URL(relative, import.meta.url));
}

/** A pre-built database to make a new one from, and the schema it holds when that is not the one wanted. */
export interface UsableTemplate {
  tarball: string;
  /** The template's schema, to drop, when the home is for another schema (which init then migrates). */
  otherSchema: string | null;
}

/**
 * The tarball to make a new database from, or undefined when there is none that matches the
 * code: a migration the code does not know, or one whose text differs. For another schema than
 * the template's it is still used (unpacking and migrating costs less than initdb, which runs a
 * second PGlite), with the template's schema named to be dropped.
 */
export async function templateFor(
  schema: string,
  manifestPath: string = defaultManifestPath(),
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<UsableTemplate | undefined> {
  let manifest: TemplateManifest;
  try {
    manifest = JSON.parse(await readFile(manifestPath, "utf8")) as TemplateManifest;
  } catch {
    return undefined;
  }
  if (typeof manifest.schema !== "string" || !Array.isArray(manifest.migrations) || typeof manifest.tarball !== "string") return undefined;
  for (const held of manifest.migrations) {
    const known = migrations.find((m) => m.version === held.version);
    if (!known || known.name !== held.name || checksum(known.sql) !== held.checksum) return undefined;
  }
  return { tarball: join(manifestPath, "..", manifest.tarball), otherSchema: manifest.schema === schema ? null : manifest.schema };
}
