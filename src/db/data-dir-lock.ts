/**
 * Holds the embedded database's data directory for one process at a time: PGlite is
 * single-process, and two processes writing one directory lose rows.
 *
 * The lock is a file created atomically with `link()` (it either does not exist or holds complete
 * JSON), naming its holder's pid, host and process start time. A lock whose holder is a dead pid on
 * this host is stale and is taken over; the takeover itself is guarded by a second file so two
 * waiters cannot both remove the stale lock and then each other's fresh one.
 */
import { randomUUID } from "node:crypto";
import { readFileSync, unlinkSync } from "node:fs";
import { link, readFile, stat, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { DatabaseError } from "../errors.js";

export interface LockHolder {
  pid: number;
  hostname: string;
  /** When the holding process started (ms since the epoch), to tell a reused pid from its holder. */
  processStartedAt: number;
  acquiredAt: string;
  token: string;
}

export interface DataDirLock {
  readonly path: string;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): Promise<void>;
}

const POLL_MS = 100;
/** A takeover takes milliseconds; a guard older than this was left by a process that died mid-takeover. */
const ABANDONED_GUARD_MS = 10_000;
const PROCESS_STARTED_AT = Math.round(Date.now() - process.uptime() * 1000);

/** Locks this process holds, removed synchronously if the process exits without closing. */
const held = new Map<string, string>();
let exitHookInstalled = false;

export async function acquireDataDirLock(
  lockPath: string,
  opts: { timeoutMs: number; description?: string },
): Promise<DataDirLock> {
  const me: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    processStartedAt: PROCESS_STARTED_AT,
    acquiredAt: "",
    token: randomUUID(),
  };
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (await tryCreate(lockPath, { ...me, acquiredAt: new Date().toISOString() })) {
      remember(lockPath, me.token);
      return { path: lockPath, release: () => release(lockPath, me.token) };
    }
    const holder = await readHolder(lockPath);
    if (holder === "missing") continue;
    if (holder !== "unreadable" && isStale(holder)) {
      await removeStale(lockPath, holder);
      continue;
    }
    const left = deadline - Date.now();
    if (left <= 0) throw busyError(lockPath, holder, opts.description);
    await sleep(Math.min(POLL_MS, left));
  }
}

async function tryCreate(lockPath: string, holder: LockHolder): Promise<boolean> {
  const draft = `${lockPath}.${holder.token}.tmp`;
  await writeFile(draft, JSON.stringify(holder), { mode: 0o644 });
  try {
    await link(draft, lockPath);
    return true;
  } catch (err) {
    if (errno(err) === "EEXIST") return false;
    throw err;
  } finally {
    await unlink(draft).catch(() => undefined);
  }
}

async function readHolder(lockPath: string): Promise<LockHolder | "missing" | "unreadable"> {
  let text: string;
  try {
    text = await readFile(lockPath, "utf8");
  } catch (err) {
    if (errno(err) === "ENOENT") return "missing";
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockHolder>;
    if (typeof parsed.pid === "number" && typeof parsed.hostname === "string" && typeof parsed.token === "string") {
      return parsed as LockHolder;
    }
  } catch {
    // fall through: someone else's file, never ours (ours is written whole before it is linked)
  }
  return "unreadable";
}

function isStale(holder: LockHolder): boolean {
  if (holder.hostname !== hostname()) return false;
  if (holder.pid === process.pid) {
    // Our own pid: a previous process that had it (common as pid 1 in containers) or this very process.
    return Math.abs((holder.processStartedAt ?? 0) - PROCESS_STARTED_AT) > 1000;
  }
  return !pidAlive(holder.pid);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errno(err) === "EPERM";
  }
}

async function removeStale(lockPath: string, stale: LockHolder): Promise<void> {
  const guard = `${lockPath}.takeover`;
  try {
    await writeFile(guard, String(process.pid), { flag: "wx" });
  } catch (err) {
    if (errno(err) !== "EEXIST") throw err;
    const age = await stat(guard).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age > ABANDONED_GUARD_MS) await unlink(guard).catch(() => undefined);
    else await sleep(10);
    return;
  }
  try {
    const current = await readHolder(lockPath);
    if (typeof current === "object" && current.token === stale.token) await unlink(lockPath).catch(() => undefined);
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}

async function release(lockPath: string, token: string): Promise<void> {
  if (held.get(lockPath) !== token) return;
  held.delete(lockPath);
  const current = await readHolder(lockPath);
  if (typeof current === "object" && current.token === token) await unlink(lockPath).catch(() => undefined);
}

function remember(lockPath: string, token: string): void {
  held.set(lockPath, token);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const [path, token] of held) {
      try {
        if ((JSON.parse(readFileSync(path, "utf8")) as LockHolder).token === token) unlinkSync(path);
      } catch {
        // Nothing more can be done while exiting; a dead pid's lock is stale for the next process.
      }
    }
  });
}

function busyError(lockPath: string, holder: LockHolder | "unreadable", description = "The data directory"): DatabaseError {
  if (holder === "unreadable") {
    return new DatabaseError(
      `${description} is locked by ${lockPath}, which does not name its holder. ` +
        `If no sselfie process is running, delete that file and try again.`,
      { lockPath },
      "DATABASE_BUSY",
    );
  }
  const who = holder.pid === process.pid && holder.hostname === hostname() ? "this same process" : `process ${holder.pid} on ${holder.hostname}`;
  return new DatabaseError(
    `${description} is in use by ${who} (since ${holder.acquiredAt}); the embedded database allows one process at a time. ` +
      `Wait for that process to finish, or stop it, then try again; to share one database between processes, ` +
      `set DATABASE_URL to a PostgreSQL server. If that process no longer exists, delete ${lockPath}.`,
    { lockPath, pid: holder.pid, hostname: holder.hostname },
    "DATABASE_BUSY",
  );
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}
