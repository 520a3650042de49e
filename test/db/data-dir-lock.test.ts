/** The embedded database is held by one process at a time (PGlite is single-process). */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { embeddedDataDir, openDatabase } from "../../src/db/connect.js";
import { HEARTBEAT_MS, SILENT_MS } from "../../src/db/data-dir-lock.js";
import { currentHolder } from "../../src/process-holder.js";
import type { Database } from "../../src/db/types.js";
import { DatabaseError } from "../../src/errors.js";
import { copyPgliteTemplate } from "../support/pglite-template.js";

const CHILD = fileURLToPath(new URL("../support/hold-embedded-database.ts", import.meta.url));

interface Child {
  proc: ChildProcessWithoutNullStreams;
  /** The first line the child prints, parsed. */
  first: Promise<{ opened?: boolean; users?: number; error?: { code: string; message: string } }>;
  exited: Promise<number | null>;
}

function startChild(home: string, lockTimeoutMs: number, mode?: "exit-without-close"): Child {
  const proc = spawn(process.execPath, ["--import", "tsx", CHILD, home, String(lockTimeoutMs), ...(mode ? [mode] : [])], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  proc.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  const first = new Promise<Awaited<Child["first"]>>((resolve, reject) => {
    proc.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n")[0];
      if (out.includes("\n") && line) resolve(JSON.parse(line));
    });
    void exited.then((code) => reject(new Error(`child exited (${code}) without a result: ${out}${err}`)));
  });
  return { proc, first, exited };
}

/** A lock file's holder fields for this process (tests change what they need). */
function holderFields() {
  const me = currentHolder();
  return {
    pid: me.pid,
    hostname: me.host,
    processStartedAt: 0,
    bootId: me.bootId,
    pidNs: me.pidNs,
    startTicks: me.startTicks,
    acquiredAt: "2020-01-01T00:00:00.000Z",
  };
}

const lockFile = (home: string) => `${embeddedDataDir(home)}.lock`;

describe("embedded database lock", () => {
  let home: string;
  const open: Database[] = [];
  const children: Child[] = [];

  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), "sselfie-lock-"));
    await copyPgliteTemplate(home);
  });
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.proc.exitCode === null) c.proc.kill("SIGKILL");
    for (const db of open.splice(0)) await db.close();
    await rm(home, { recursive: true, force: true });
  });

  async function openHere(lockTimeoutMs = 1000): Promise<Database> {
    const db = await openDatabase({ home, lockTimeoutMs });
    open.push(db);
    return db;
  }

  it("makes a second process wait, then fail with DATABASE_BUSY naming the holder", async () => {
    const db = await openHere();
    const started = Date.now();
    const child = startChild(home, 800);
    children.push(child);
    const result = await child.first;
    expect(result.error?.code).toBe("DATABASE_BUSY");
    expect(result.error?.message).toContain(`process ${process.pid}`);
    expect(result.error?.message).toContain("DATABASE_URL");
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
    expect(await child.exited).toBe(1);
    expect((await db.query("SELECT 1 AS x")).rows).toEqual([{ x: 1 }]);
  });

  it("lets a waiting process in once the holder closes, with the holder's writes", async () => {
    const db = await openHere();
    const child = startChild(home, 30_000);
    children.push(child);
    await new Promise((r) => setTimeout(r, 1500));
    expect(child.proc.exitCode).toBeNull();
    await db.query(`INSERT INTO ${db.s}.users (id) VALUES ('42')`);
    await db.close();
    expect(await child.first).toEqual({ opened: true, users: 1 });
    expect(JSON.parse(readFileSync(lockFile(home), "utf8")).pid).toBe(child.proc.pid);
    child.proc.stdin.end();
    expect(await child.exited).toBe(0);
    expect(existsSync(lockFile(home))).toBe(false);
  });

  it("releases the lock when the holder exits without closing", async () => {
    const child = startChild(home, 5000, "exit-without-close");
    children.push(child);
    expect(await child.first).toMatchObject({ opened: true });
    expect(await child.exited).toBe(0);
    expect(existsSync(lockFile(home))).toBe(false);
    await openHere(100);
  });

  it("takes over the lock of a killed process", async () => {
    const child = startChild(home, 5000);
    children.push(child);
    expect(await child.first).toMatchObject({ opened: true });
    child.proc.kill("SIGKILL");
    await child.exited;
    expect(JSON.parse(readFileSync(lockFile(home), "utf8")).pid).toBe(child.proc.pid);
    const db = await openHere(100);
    expect((await db.query(`SELECT count(*) AS n FROM ${db.s}.users`)).rows).toEqual([{ n: 0 }]);
    expect(JSON.parse(readFileSync(lockFile(home), "utf8")).pid).toBe(process.pid);
  });

  it("takes over a lock left by a dead pid", async () => {
    const dead = spawnSync(process.execPath, ["-e", "process.pid"]).pid;
    expect(dead).toBeGreaterThan(0);
    const me = currentHolder();
    const stale = { ...holderFields(), pid: dead, startTicks: (me.startTicks ?? 0) + 1, token: "stale" };
    writeFileSync(lockFile(home), JSON.stringify(stale));
    await openHere(100); // 100 ms: it must take the lock over, not wait for it
    expect(JSON.parse(readFileSync(lockFile(home), "utf8"))).toMatchObject({ pid: process.pid, hostname: hostname() });
  });

  it("takes over a lock of a pid now reused by a process started later (this one)", async () => {
    const me = currentHolder();
    if (me.startTicks === null) return; // no /proc: nothing to tell a reused pid by
    writeFileSync(lockFile(home), JSON.stringify({ ...holderFields(), startTicks: me.startTicks - 1, token: "reused" }));
    await openHere(100);
    expect(JSON.parse(readFileSync(lockFile(home), "utf8")).token).not.toBe("reused");
  });

  it("never takes over a live lock of another container sharing the volume (same host name, same pid, same boot)", async () => {
    // Another container's pid 1 on the same kernel: the same host name, pid and boot id, another pid namespace.
    const other = { ...holderFields(), pidNs: "pid:[1]", startTicks: 1, token: "other-container" };
    writeFileSync(lockFile(home), JSON.stringify(other));
    const busy = await openDatabase({ home, lockTimeoutMs: 300 }).catch((e: unknown) => e);
    expect((busy as DatabaseError).code).toBe("DATABASE_BUSY");
    expect(JSON.parse(readFileSync(lockFile(home), "utf8")).token).toBe("other-container");

    // Once that holder has been silent (no heartbeat) for longer than SILENT_MS, it is gone.
    const old = new Date(Date.now() - SILENT_MS - 5_000);
    utimesSync(lockFile(home), old, old);
    await openHere(300);
    expect(JSON.parse(readFileSync(lockFile(home), "utf8")).token).not.toBe("other-container");
  });

  it("keeps its own lock fresh while it holds it (the heartbeat others judge silence by)", async () => {
    await openHere();
    const old = new Date(Date.now() - 60_000);
    utimesSync(lockFile(home), old, old);
    await new Promise((r) => setTimeout(r, HEARTBEAT_MS + 500));
    expect(Date.now() - statSync(lockFile(home)).mtimeMs).toBeLessThan(HEARTBEAT_MS + 1000);
  }, 15_000);

  it("does not take over a lock held by a live process on another host, nor one it cannot read", async () => {
    const foreign = { pid: process.pid, hostname: "elsewhere.example", processStartedAt: 0, acquiredAt: "2020-01-01T00:00:00.000Z", token: "t" };
    writeFileSync(lockFile(home), JSON.stringify(foreign));
    const busy = await openDatabase({ home, lockTimeoutMs: 200 }).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(DatabaseError);
    expect((busy as DatabaseError).code).toBe("DATABASE_BUSY");
    expect((busy as DatabaseError).message).toContain("elsewhere.example");

    writeFileSync(lockFile(home), "garbage");
    const unreadable = await openDatabase({ home, lockTimeoutMs: 200 }).catch((e: unknown) => e);
    expect((unreadable as DatabaseError).code).toBe("DATABASE_BUSY");
    expect((unreadable as DatabaseError).message).toContain(lockFile(home));
  });

  it("refuses a second open in the same process", async () => {
    await openHere();
    const err = await openDatabase({ home, lockTimeoutMs: 200 }).catch((e: unknown) => e);
    expect((err as DatabaseError).code).toBe("DATABASE_BUSY");
    expect((err as DatabaseError).message).toContain("this same process");
  });
});
