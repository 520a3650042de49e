/**
 * Who holds something (the embedded database's lock, a training's `pending` claim, a generation
 * being made), recorded so that another process can tell whether the holder is gone.
 *
 * A pid alone proves nothing: two containers sharing a volume can both be pid 1 on a host of the
 * same name, and a pid is reused. So a holder also records the kernel's boot id and its pid
 * namespace (Linux), and the kernel's own start time of the process (clock ticks since boot, from
 * /proc/<pid>/stat). A holder is provably gone only when it ran on this very kernel and in this
 * very pid namespace and that pid is dead or now belongs to a process started at another time.
 * Anything else (another host, another boot, another container) is `unknown`: the caller then
 * falls back on how long the holder has been silent.
 */
import { readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";

export interface ProcessHolder {
  host: string;
  pid: number;
  /** /proc/sys/kernel/random/boot_id; null where there is none (macOS, Windows). */
  bootId: string | null;
  /** The pid namespace (`pid:[4026531836]`); null where there is none. */
  pidNs: string | null;
  /** The process's start, in clock ticks since boot (/proc/<pid>/stat field 22); null where unknown. */
  startTicks: number | null;
  /** Set when the holder itself gave the work up (it may live on, e.g. a backend service). */
  exitedAt?: string;
}

export type HolderLiveness = "alive" | "gone" | "unknown";

function readOrNull(read: () => string): string | null {
  try {
    const value = read().trim();
    return value === "" ? null : value;
  } catch {
    return null;
  }
}

/** Field 22 of /proc/<pid>/stat. The command name (field 2) may hold spaces and parentheses, hence the last `)`. */
export function processStartTicks(pid: number | "self"): number | null {
  const stat = readOrNull(() => readFileSync(`/proc/${pid}/stat`, "utf8"));
  if (!stat) return null;
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[19]);
  return Number.isSafeInteger(ticks) ? ticks : null;
}

let me: ProcessHolder | undefined;

/** This process, as a holder. */
export function currentHolder(): ProcessHolder {
  me ??= Object.freeze({
    host: hostname(),
    pid: process.pid,
    bootId: readOrNull(() => readFileSync("/proc/sys/kernel/random/boot_id", "utf8")),
    pidNs: readOrNull(() => readlinkSync("/proc/self/ns/pid")),
    startTicks: processStartTicks("self"),
  });
  return me;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Whether the recorded holder still runs, as far as this process can tell. */
export function holderLiveness(holder: Partial<ProcessHolder> | null | undefined): HolderLiveness {
  if (!holder || typeof holder.pid !== "number" || typeof holder.host !== "string") return "unknown";
  const here = currentHolder();
  if (holder.host !== here.host) return "unknown";
  // Both must name the same kernel boot and pid namespace (or both lack them: a system without /proc).
  if ((holder.bootId ?? null) !== here.bootId || (holder.pidNs ?? null) !== here.pidNs) return "unknown";
  if (holder.pid === here.pid) {
    if (here.startTicks === null || holder.startTicks == null) return "unknown";
    return holder.startTicks === here.startTicks ? "alive" : "gone";
  }
  if (!pidAlive(holder.pid)) return "gone";
  if (holder.startTicks == null) return "alive";
  const now = processStartTicks(holder.pid);
  // A zombie or a process we cannot read keeps its claim; a reused pid does not.
  return now === null || now === holder.startTicks ? "alive" : "gone";
}

/** `process 123 on host-a`, for messages. */
export function describeHolder(holder: Partial<ProcessHolder> | null | undefined): string {
  if (!holder || typeof holder.pid !== "number") return "an unknown process";
  return `process ${holder.pid} on ${holder.host ?? "an unknown host"}`;
}
