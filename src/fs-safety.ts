/**
 * Creating folders and keeping sselfie's home private.
 *
 * `mkdir(path, { recursive: true })` in Node 20 never returns for a path under /proc (the kernel
 * answers ENOENT for every level and Node keeps trying), so folders are made one level at a time
 * here, and every error ends the attempt with the path and the reason.
 *
 * SSELFIE_HOME holds the embedded database (prompts, token hashes), the saved token and the lock:
 * folders are 0700 and files 0600 whatever the umask. PGlite creates its files with the process's
 * umask (a few, such as its relation cache, even in an existing database), so the database folder
 * is made private after it is created and when it is closed (for files it added meanwhile, which
 * the private folders above already shield).
 */
import { chmodSync, constants, lstatSync, readdirSync } from "node:fs";
import { access, mkdir, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { ConfigError } from "./errors.js";

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** Makes `dir` and its missing parents (with `mode` for the ones made here); it must end up a writable folder. */
export async function ensureDirectory(dir: string, mode?: number): Promise<void> {
  const missing: string[] = [];
  let current = resolve(dir);
  for (;;) {
    try {
      const found = await stat(current);
      if (!found.isDirectory()) throw Object.assign(new Error(`${current} exists and is not a folder`), { code: "ENOTDIR" });
      break;
    } catch (err) {
      const parent = dirname(current);
      if (errno(err) !== "ENOENT" || parent === current) throw err;
      missing.push(current);
      current = parent;
    }
  }
  for (const folder of missing.reverse()) {
    try {
      await mkdir(folder, mode === undefined ? undefined : { mode });
    } catch (err) {
      if (errno(err) === "EEXIST" && (await stat(folder)).isDirectory()) continue;
      throw err;
    }
  }
  await access(dir, constants.W_OK | constants.X_OK);
}

/** Others' permission bits on an existing folder, e.g. "readable and writable by others"; null when private. */
export async function openToOthers(dir: string): Promise<string | null> {
  const { mode } = await stat(dir);
  if ((mode & 0o077) === 0) return null;
  return `mode ${(mode & 0o777).toString(8).padStart(4, "0")}`;
}

/**
 * Removes group and other permissions from everything under `dir` (and `dir` itself); symlinks are
 * left alone. Synchronous on purpose: a data directory's thousand entries take milliseconds this
 * way, and several times longer as a thousand round trips through the thread pool.
 */
export async function makePrivate(dir: string): Promise<void> {
  const walk = (path: string): void => {
    const info = lstatSync(path);
    if (info.isSymbolicLink()) return;
    if (info.isDirectory()) {
      if ((info.mode & 0o777) !== PRIVATE_DIR_MODE) chmodSync(path, PRIVATE_DIR_MODE);
      for (const name of readdirSync(path)) walk(join(path, name));
    } else if ((info.mode & 0o077) !== 0) {
      chmodSync(path, PRIVATE_FILE_MODE);
    }
  };
  walk(dir);
}

/** Why a file-system call failed, in words an operator acts on. */
function describeFailure(err: unknown): string {
  switch (errno(err)) {
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EROFS":
      return "the file system is read-only";
    case "ENOTDIR":
      return "a part of that path is a file, not a folder";
    case "ENOENT":
      return "that path cannot be created there";
    case "ENOSPC":
      return "the disk is full";
    default:
      return err instanceof Error ? err.message : String(err);
  }
}

/**
 * A home that cannot be made, read or written is a configuration problem (exit 6) naming the path
 * and why, never an internal error. `purpose` says what sselfie wanted there ("the embedded database").
 */
export function homeUnusableError(home: string, err: unknown, purpose: string, remedy = "Set SSELFIE_HOME to a folder you can write."): ConfigError {
  const code = errno(err);
  return new ConfigError(
    `Cannot use ${home} as sselfie's home (SSELFIE_HOME) for ${purpose}: ${describeFailure(err)}${code ? ` (${code})` : ""}. ${remedy}`,
    { home, ...(code ? { errno: code } : {}) },
    "HOME_UNUSABLE",
  );
}
