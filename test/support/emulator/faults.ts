/** Injected faults, consumed in the order they were added, each `times` times (default 1). */
import { methodMatches, pathMatches } from "./request-log.js";
import type { State } from "./state.js";
import type { Fault } from "./types.js";

export function addFault(state: State, fault: Fault): void {
  state.faults.push({ fault, remaining: fault.times ?? 1 });
}

export function takeFault(state: State, method: string, path: string): Fault | undefined {
  const entry = state.faults.find((f) => f.remaining > 0 && methodMatches(f.fault.method, method) && pathMatches(f.fault.path, path));
  if (!entry) return undefined;
  entry.remaining--;
  if (entry.remaining === 0) state.faults.splice(state.faults.indexOf(entry), 1);
  return entry.fault;
}
