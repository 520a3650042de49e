import { InvalidInputError } from "../../errors.js";
import type { LogEntry, ServeParams } from "../../server/index.js";
import { validateServeParams } from "../../server/serve.js";
import type { CliCommand } from "../command.js";

function parsePort(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !/^\d{1,5}$/.test(v)) throw new InvalidInputError(`--port must be a whole number from 0 to 65535, not ${JSON.stringify(v)}.`);
  return Number(v);
}

function parseMinutes(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !/^\d+(\.\d+)?$/.test(v)) {
    throw new InvalidInputError(`--reconcile-every must be a number of minutes (0 turns it off), not ${JSON.stringify(v)}.`);
  }
  return Math.round(Number(v) * 60_000);
}

/** Resolves with the first of SIGTERM or SIGINT; a second one ends the process at once. */
function nextSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off("SIGTERM", on).off("SIGINT", on);
      const force = (again: NodeJS.Signals) => process.exit(again === "SIGINT" ? 130 : 143);
      process.once("SIGTERM", force).once("SIGINT", force);
      resolve(signal);
    };
    process.on("SIGTERM", on).on("SIGINT", on);
  });
}

export const serveCommand: CliCommand<Required<ServeParams>> = {
  scope: "train",
  action: "serve",
  handlesSignals: true,
  parse: (o) =>
    validateServeParams({
      ...(o.host !== undefined ? { host: String(o.host) } : {}),
      ...(o.port !== undefined ? { port: parsePort(o.port)! } : {}),
      ...(o.reconcileEvery !== undefined ? { reconcileEveryMs: parseMinutes(o.reconcileEvery)! } : {}),
    }),
  async run({ sselfie, principal, out }, params) {
    const signal = nextSignal();
    // The URL is the first line on stdout; log lines wait for it.
    let held: LogEntry[] | null = [];
    const onLog = (entry: LogEntry) => (held ? held.push(entry) : out.line(JSON.stringify(entry)));
    const server = await sselfie.serve(params, { actor: principal?.name ?? null, onLog });
    out.line(server.url);
    out.line(JSON.stringify({ time: new Date().toISOString(), event: "listening", url: server.url, webhookUrl: server.webhookUrl }));
    for (const entry of held) out.line(JSON.stringify(entry));
    held = null;
    const received = await signal;
    out.line(JSON.stringify({ time: new Date().toISOString(), event: "stopping", signal: received }));
    await server.close();
    const payload = { time: new Date().toISOString(), event: "stopped", deliveries: server.counts() };
    return { payload, text: () => JSON.stringify(payload) };
  },
};
