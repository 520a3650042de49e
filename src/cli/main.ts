/**
 * The CLI's entry point and its one error boundary: expected errors become a message (or a JSON
 * error document) and an exit code from the contract; nothing else prints a stack unless
 * SSELFIE_DEBUG is set.
 */
import { CommanderError } from "commander";
import type { CliCommand, GlobalFlags } from "./command.js";
import { Output } from "./output.js";
import { buildProgram } from "./program.js";

declare const __SSELFIE_VERSION__: string;
const VERSION = typeof __SSELFIE_VERSION__ === "string" ? __SSELFIE_VERSION__ : "0.0.0-dev";

const HELP_CODES = new Set(["commander.helpDisplayed", "commander.help", "commander.version"]);

export async function main(argv: string[] = process.argv, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const json = argv.includes("--json");
  const color = !argv.includes("--no-color") && !(env.NO_COLOR !== undefined && env.NO_COLOR !== "");
  const out = new Output({ json, color });
  let code = 0;

  const program = buildProgram(
    {
      async execute(load: () => Promise<CliCommand<unknown>>, raw, args, flags: GlobalFlags) {
        await out.prepare();
        const command = await load();
        const { runCommand } = await import("./run-command.js");
        code = await runCommand(command, raw, args, flags, out);
      },
    },
    VERSION,
  );
  program.configureOutput({ outputError: () => {} });
  for (const sub of program.commands) sub.configureOutput({ outputError: () => {} });

  try {
    await program.parseAsync(argv);
  } catch (err) {
    code = await report(err, out, env);
  }
  process.exitCode = code;
  return code;
}

// The SDK and the exit-code map load only when there is an error to report: `--help` and
// `--version` stay as light as commander itself.
async function report(err: unknown, out: Output, env: NodeJS.ProcessEnv): Promise<number> {
  if (err instanceof CommanderError && (HELP_CODES.has(err.code) || err.exitCode === 0)) return 0;
  const [{ isSselfieError }, { EXIT, exitCodeFor }] = await Promise.all([import("../index.js"), import("./exit-codes.js")]);
  if (err instanceof CommanderError) {
    out.error("INVALID_USAGE", `${err.message.replace(/^error: /, "")} (see --help)`);
    return EXIT.INVALID_INPUT;
  }
  if (isSselfieError(err)) {
    out.error(err.code, err.message, env.SSELFIE_DEBUG ? err.stack : undefined);
    return exitCodeFor(err);
  }
  const e = err instanceof Error ? err : new Error(String(err));
  out.error("INTERNAL_ERROR", `${e.message} (this is a bug in sselfie; set SSELFIE_DEBUG=1 for details)`, env.SSELFIE_DEBUG ? e.stack : undefined);
  return exitCodeFor(err);
}
