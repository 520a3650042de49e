/**
 * The emulator as a standalone server: `npm run emulator -- --port 8787 --token test-token-alice --owner alice`.
 * Prints the base URL, token and owner, then serves until SIGINT/SIGTERM.
 */
import { parseArgs } from "node:util";
import { startEmulator } from "./index.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    token: { type: "string", default: "test-token-alice" },
    owner: { type: "string", default: "alice" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  process.stdout.write("Usage: npm run emulator -- [--port N] [--token TOKEN] [--owner USERNAME]\n");
  process.exit(0);
}

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`--port must be 0..65535, got ${values.port}\n`);
  process.exit(2);
}

const emulator = await startEmulator({ port, accounts: [{ token: values.token, username: values.owner }] });
process.stdout.write(
  [
    `Replicate emulator listening on ${emulator.url}`,
    `  REPLICATE_BASE_URL=${emulator.url}`,
    `  REPLICATE_API_TOKEN=${emulator.token}`,
    `  owner: ${emulator.owner}`,
    `  webhook secret: ${emulator.webhookSecret}`,
    "Press Ctrl+C to stop.",
    "",
  ].join("\n"),
);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void emulator.close().then(() => process.exit(0));
  });
}
