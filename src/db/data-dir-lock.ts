/**
 * Holds the embedded database's data directory for one process at a time: PGlite is
 * single-process, and two processes writing one directory lose rows.
 *
 * The lock is a file created atomically with `link()` (it either does not exist or holds complete
 * JSON), naming its holder (src/process-holder.ts: host, pid, boot id, pid namespace and the
 * kernel's start time of the process). A lock is taken over when its holder is provably gone (same
 * kernel boot and pid namespace, and that pid dead or reused), or, when that cannot be told (a
 * holder in another container sharing the volume, even as pid 1 on a host of the same name; another
 * machine), when the holder stopped refreshing the file's modification time: a live holder touches
 * it every HEARTBEAT_MS. The takeover itself is guarded by a second file so two waiters cannot both
 * remove the stale lock and then each other's fresh one.
 */
import { randomUUID } from "node:crypto";
import { readFileSync, unlinkSync } from "node:fs";
import { link, readFile, stat, unlink, utimes, writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { DatabaseError } from "../errors.js";
import { currentHolder, holderLiveness } from "../process-holder.js";

export interface LockHolder {
  pid: number;
  hostname: string;
  /** When the holding process started (ms since the epoch); informative. */
  processStartedAt: number;
  /** The kernel's boot id, the pid namespace and the process's start in clock ticks (null off Linux). */
  bootId: string | null;
  pidNs: string | null;
  startTicks: number | null;
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
/** A live holder touches its lock this often... */
export const HEARTBEAT_MS = 5_000;
/** ...so a lock whose holder cannot be checked is stale once untouched this long. */
export const SILENT_MS = 30_000;

/** Locks this process holds, removed synchronously if the process exits without closing. */
const held = new Map<string, string>();
let exitHookInstalled = false;

export async function acquireDataDirLock(
  lockPath: string,
  opts: { timeoutMs: number; description?: string },
): Promise<DataDirLock> {
  const self = currentHolder();
  const me: LockHolder = {
    pid: self.pid,
    hostname: self.host,
    processStartedAt: PROCESS_STARTED_AT,
    bootId: self.bootId,
    pidNs: self.pidNs,
    startTicks: self.startTicks,
    acquiredAt: "",
    token: randomUUID(),
  };
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (await tryCreate(lockPath, { ...me, acquiredAt: new Date().toISOString() })) {
      remember(lockPath, me.token);
      const heartbeat = setInterval(() => {
        const now = new Date();
        utimes(lockPath, now, now).catch(() => undefined);
      }, HEARTBEAT_MS);
      heartbeat.unref();
      return {
        path: lockPath,
        release: () => {
          clearInterval(heartbeat);
          return release(lockPath, me.token);
        },
      };
    }
    const holder = await readHolder(lockPath);
    if (holder === "missing") continue;
    if (holder !== "unreadable" && (await isStale(lockPath, holder))) {
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
  await writeFile(draft, JSON.stringify(holder), { mode: 0o600 });
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

async function isStale(lockPath: string, holder: LockHolder): Promise<boolean> {
  const liveness = holderLiveness({
    host: holder.hostname,
    pid: holder.pid,
    bootId: holder.bootId ?? null,
    pidNs: holder.pidNs ?? null,
    startTicks: holder.startTicks ?? null,
  });
  if (liveness !== "unknown") return liveness === "gone";
  const age = await stat(lockPath).then((s) => Date.now() - s.mtimeMs, () => 0);
  return age > SILENT_MS;
}

async function removeStale(lockPath: string, stale: LockHolder): Promise<void> {
  const guard = `${lockPath}.takeover`;
  try {
    await writeFile(guard, String(process.pid), { flag: "wx", mode: 0o600 });
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

/**
 * Synchronous, as the exit hook is: right after PGlite closes, the thread pool behind fs/promises
 * was measured answering a one-line read after 0.5-1.5 s on a loaded machine, every command's cost.
 */
async function release(lockPath: string, token: string): Promise<void> {
  if (held.get(lockPath) !== token) return;
  held.delete(lockPath);
  removeIfOurs(lockPath, token);
}

function removeIfOurs(lockPath: string, token: string): void {
  try {
    if ((JSON.parse(readFileSync(lockPath, "utf8")) as LockHolder).token === token) unlinkSync(lockPath);
  } catch {
    // Gone, or replaced by a file that is not ours: nothing of ours to remove.
  }
}

function remember(lockPath: string, token: string): void {
  held.set(lockPath, token);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    // Nothing more can be done while exiting; a dead pid's lock is stale for the next process.
    for (const [path, token] of held) removeIfOurs(path, token);
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
  const who = held.get(lockPath) === holder.token ? "this same process" : `process ${holder.pid} on ${holder.hostname}`;
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
