/**
 * Run by `npm run build` after tsup: makes the pre-built embedded database the package ships
 * (dist/embedded-db.tar.gz and its manifest dist/embedded-db.json; see src/db/embedded-template.ts).
 * It migrates a new PGlite database through the SDK just built, so the tarball always holds exactly
 * this build's migrations, then dumps it with PGlite's own dumpDataDir.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";

const DIST = fileURLToPath(new URL("../dist/", import.meta.url));
const MANIFEST = "embedded-db.json";
const TARBALL = "embedded-db.tar.gz";
const SCHEMA = "sselfie";

const { createSselfie } = await import(join(DIST, "index.js"));
const home = mkdtempSync(join(tmpdir(), "sselfie-embedded-db-"));
try {
  // No manifest is in dist/ yet, so this database is made by initdb.
  const sselfie = await createSselfie({ home, schema: SCHEMA, identityCheck: false });
  try {
    await sselfie.migrate();
  } finally {
    await sselfie.close();
  }
  const db = await PGlite.create(join(home, "db"));
  try {
    // Everything on disk, so the tarball needs no replay of the write-ahead log.
    await db.query("CHECKPOINT");
    const migrations = (await db.query(`SELECT version, name, checksum FROM "${SCHEMA}".migrations ORDER BY version`)).rows;
    const tarball = await db.dumpDataDir("gzip");
    writeFileSync(join(DIST, TARBALL), Buffer.from(await tarball.arrayBuffer()));
    const entry = createRequire(import.meta.url).resolve("@electric-sql/pglite"); // <package>/dist/index.cjs
    const pglite = JSON.parse(readFileSync(join(dirname(entry), "..", "package.json"), "utf8")).version;
    writeFileSync(join(DIST, MANIFEST), `${JSON.stringify({ schema: SCHEMA, pglite, migrations, tarball: TARBALL }, null, 2)}\n`);
    console.log(`${TARBALL}: schema "${SCHEMA}" at version ${migrations.at(-1)?.version}, ${(tarball.size / 1024 / 1024).toFixed(1)} MiB`);
  } finally {
    await db.close();
  }
} finally {
  rmSync(home, { recursive: true, force: true });
}
