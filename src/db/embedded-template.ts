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
import { closeSync, createReadStream, ftruncateSync, mkdirSync, openSync, writeSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { createGunzip } from "node:zlib";
import { checksum } from "./migrate.js";
import { MIGRATIONS, type Migration } from "./migrations/index.js";

/** Where the built bundles keep the manifest, relative to themselves (set by tsup). */
declare const __SSELFIE_EMBEDDED_DB__: string | undefined;

export const TEMPLATE_MANIFEST = "embedded-db.json";
export const TEMPLATE_TARBALL = "embedded-db.tar.gz";
/** The schema the shipped database is migrated for. */
export const TEMPLATE_SCHEMA = "sselfie";

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

/**
 * The tarball to make a new database of `schema` from, or undefined when there is none that
 * matches: another schema, a migration the code does not know, or one whose text differs.
 */
export async function usableTemplate(
  schema: string,
  manifestPath: string = defaultManifestPath(),
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<string | undefined> {
  let manifest: TemplateManifest;
  try {
    manifest = JSON.parse(await readFile(manifestPath, "utf8")) as TemplateManifest;
  } catch {
    return undefined;
  }
  if (manifest.schema !== schema || !Array.isArray(manifest.migrations) || typeof manifest.tarball !== "string") return undefined;
  for (const held of manifest.migrations) {
    const known = migrations.find((m) => m.version === held.version);
    if (!known || known.name !== held.name || checksum(known.sql) !== held.checksum) return undefined;
  }
  return join(manifestPath, "..", manifest.tarball);
}

/**
 * Unpacks a gzipped tar of a data directory (as PGlite's dumpDataDir writes it) into `dir`, which
 * must not exist: folders 0700, files 0600 whatever the umask, streamed so that memory stays
 * flat, and runs of zeros left as holes (the write-ahead log is mostly zeros).
 */
export async function unpackDataDir(tarball: string, dir: string): Promise<void> {
  mkdirSync(dir, { mode: 0o700 });
  const reader = new TarReader(dir);
  try {
    for await (const chunk of createReadStream(tarball).pipe(createGunzip())) reader.push(chunk as Buffer);
    reader.end();
  } finally {
    reader.closeFile();
  }
}

const BLOCK = 512;
const ZEROS = Buffer.alloc(64 * 1024);

function isZeros(data: Buffer): boolean {
  for (let at = 0; at < data.length; at += ZEROS.length) {
    const piece = data.subarray(at, at + ZEROS.length);
    if (!piece.equals(ZEROS.subarray(0, piece.length))) return false;
  }
  return true;
}

class TarReader {
  #header = Buffer.alloc(BLOCK);
  #headerFill = 0;
  #fd: number | undefined;
  #position = 0;
  #dataLeft = 0;
  #padLeft = 0;
  #done = false;

  constructor(readonly root: string) {}

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.#done) {
      if (this.#dataLeft > 0) {
        const n = Math.min(this.#dataLeft, chunk.length - at);
        this.#write(chunk.subarray(at, at + n));
        at += n;
        this.#dataLeft -= n;
        if (this.#dataLeft === 0) this.closeFile();
      } else if (this.#padLeft > 0) {
        const n = Math.min(this.#padLeft, chunk.length - at);
        at += n;
        this.#padLeft -= n;
      } else {
        const n = Math.min(BLOCK - this.#headerFill, chunk.length - at);
        chunk.copy(this.#header, this.#headerFill, at, at + n);
        this.#headerFill += n;
        at += n;
        if (this.#headerFill === BLOCK) {
          this.#headerFill = 0;
          this.#entry(this.#header);
        }
      }
    }
  }

  end(): void {
    if (!this.#done || this.#dataLeft > 0) throw new Error("The embedded database template is truncated.");
  }

  closeFile(): void {
    if (this.#fd === undefined) return;
    closeSync(this.#fd);
    this.#fd = undefined;
  }

  #entry(header: Buffer): void {
    if (isZeros(header)) {
      this.#done = true;
      return;
    }
    const prefix = field(header, 257, 6).startsWith("ustar") ? field(header, 345, 155) : "";
    const name = prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100);
    const size = parseInt(field(header, 124, 12).trim() || "0", 8);
    const type = field(header, 156, 1) || "0";
    const path = this.#safePath(name);
    if (type === "5") {
      if (path !== this.root) mkdirSync(path, { mode: 0o700 });
    } else if (type === "0") {
      this.#fd = openSync(path, "wx", 0o600);
      ftruncateSync(this.#fd, size);
      this.#position = 0;
      this.#dataLeft = size;
      this.#padLeft = (BLOCK - (size % BLOCK)) % BLOCK;
      if (size === 0) this.closeFile();
    } else {
      throw new Error(`The embedded database template holds an entry of type ${JSON.stringify(type)} (${name}); only files and folders are expected.`);
    }
  }

  #write(data: Buffer): void {
    // The file was sized with ftruncate: zeros need not be written, and stay holes.
    if (!isZeros(data)) writeSync(this.#fd!, data, 0, data.length, this.#position);
    this.#position += data.length;
  }

  #safePath(name: string): string {
    const relative = normalize(name.replace(/^\/+/, ""));
    if (relative === "." || relative === "") return this.root;
    if (relative.startsWith("..") || relative.split(sep).includes("..")) {
      throw new Error(`The embedded database template names a path outside its folder: ${name}`);
    }
    return join(this.root, relative);
  }
}

function field(header: Buffer, offset: number, length: number): string {
  const bytes = header.subarray(offset, offset + length);
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end < 0 ? length : end).toString("utf8");
}
