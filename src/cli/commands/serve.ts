import { InvalidInputError, quoteValue, validateServeParams, type LogEntry, type ServeParams } from "../../index.js";
import type { CliCommand } from "../command.js";

function parsePort(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !/^\d{1,5}$/.test(v)) throw new InvalidInputError(`--port must be a whole number from 0 to 65535, not ${quoteValue(v)}.`);
  return Number(v);
}

function parseMinutes(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !/^\d+(\.\d+)?$/.test(v)) {
    throw new InvalidInputError(`--reconcile-every must be a number of minutes (0 turns it off), not ${quoteValue(v)}.`);
  }
  return Math.round(Number(v) * 60_000);
}

export const serveCommand: CliCommand<Required<ServeParams>> = {
  scope: "train",
  action: "serve",
  // SIGTERM/SIGINT abort `signal`: the server stops accepting, finishes what is in flight, and the
  // command returns (exit 0). A second signal ends the process at once.
  abortable: true,
  parse: (o) =>
    validateServeParams({
      ...(o.host !== undefined ? { host: String(o.host) } : {}),
      ...(o.port !== undefined ? { port: parsePort(o.port)! } : {}),
      ...(o.reconcileEvery !== undefined ? { reconcileEveryMs: parseMinutes(o.reconcileEvery)! } : {}),
    }),
  async run({ sselfie, principal, out, signal }, params) {
    // The URL is the first line on stdout; log lines wait for it.
    let held: LogEntry[] | null = [];
    const onLog = (entry: LogEntry) => (held ? held.push(entry) : out.line(JSON.stringify(entry)));
    const server = await sselfie.serve(params, { actor: principal?.name ?? null, onLog, signal });
    out.line(server.url);
    out.line(JSON.stringify({ time: new Date().toISOString(), event: "listening", url: server.url, webhookUrl: server.webhookUrl }));
    for (const entry of held) out.line(JSON.stringify(entry));
    held = null;
    const stopping = () => out.line(JSON.stringify({ time: new Date().toISOString(), event: "stopping", reason: String(signal.reason?.message ?? signal.reason) }));
    if (signal.aborted) stopping();
    else signal.addEventListener("abort", stopping, { once: true });
    await server.closed;
    const payload = { time: new Date().toISOString(), event: "stopped", deliveries: server.counts() };
    return { payload, text: () => JSON.stringify(payload) };
  },
};
