/**
 * The emulator as a standalone server: `npm run emulator -- --port 8787 --training-seconds 60`.
 * Prints the base URL, token, owner and how trainings and predictions will behave, then serves
 * until SIGINT/SIGTERM. Flags: cli-options.ts (`--help`).
 */
import { describeBehaviour, parseEmulatorCommandLine, USAGE, UsageError } from "./cli-options.js";
import { startEmulator } from "./index.js";

let cli;
try {
  cli = parseEmulatorCommandLine(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(`${err.message}\nSee: npm run emulator -- --help\n`);
  process.exit(2);
}

if (cli.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const emulator = await startEmulator(cli.options);
emulator.setTrainingOutcome(cli.trainingOutcome.status, cli.trainingOutcome.error === undefined ? {} : { error: cli.trainingOutcome.error });
if (cli.withholdImages > 0) emulator.withholdImages(cli.withholdImages);
for (const fault of cli.faults) emulator.inject(fault);

process.stdout.write(
  [
    `Replicate emulator listening on ${emulator.url}`,
    `  REPLICATE_BASE_URL=${emulator.url}`,
    `  REPLICATE_API_TOKEN=${emulator.token}`,
    `  owner: ${emulator.owner}`,
    `  webhook secret: ${emulator.webhookSecret}`,
    ...describeBehaviour(cli),
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
