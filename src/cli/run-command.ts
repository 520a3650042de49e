/**
 * Runs one command in the order the contract requires: arguments (exit 2), configuration and
 * database (exit 6), token and scope (exit 3), confirmation, then the work itself.
 */
import { createSselfie, InterruptedError, InvalidInputError, loadConfig, replicateTokenLookup } from "../index.js";
import type { CliCommand, GlobalFlags } from "./command.js";
import { EXIT } from "./exit-codes.js";
import type { Output } from "./output.js";

/** After Ctrl-C or SIGTERM, how long an abortable command may take to settle what it holds before the process ends anyway. */
export const SETTLE_AFTER_SIGNAL_MS = 10_000;

export async function runCommand<O>(
  command: CliCommand<O>,
  raw: Record<string, unknown>,
  args: string[],
  flags: GlobalFlags,
  out: Output,
): Promise<number> {
  const options = command.parse(raw, args);
  const config = loadConfig({ databaseUrl: flags.databaseUrl, token: flags.token, schema: flags.schema });
  const sselfie = await createSselfie({
    ...(command.database === false && { database: false as const }),
    databaseUrl: config.databaseUrl,
    home: config.home,
    schema: config.schema,
    replicateApiToken: config.replicateApiToken,
    replicateBaseUrl: config.replicateBaseUrl,
    replicateOwner: config.replicateOwner,
    webhookUrl: config.webhookUrl,
    replicateTokens: replicateTokenLookup(),
    pricePerSecond: config.pricePerSecond,
    ...(config.identityCheck ? {} : { identityCheck: false as const }),
    onWarning: (message) => out.warn(message),
    // Waiting on Replicate is said as it happens, on stderr, also off a TTY and with --json.
    replicate: {
      onRetry: (retry) => out.notice(retry.message),
      ...(config.replicateTimeoutMs === undefined ? {} : { timeoutMs: config.replicateTimeoutMs }),
    },
  });
  // Ctrl-C or SIGTERM during a long wait: a command that is not abortable releases the embedded
  // database and ends at once (exit 130 or 143, as shells report a signal). An abortable one is
  // told through `signal` and settles what it holds (records what is unfinished, removes partial
  // files, releases a claim) within SETTLE_AFTER_SIGNAL_MS; a second signal ends it at once.
  const controller = new AbortController();
  let interrupted: NodeJS.Signals | undefined;
  const exitFor = (signal: NodeJS.Signals) => (signal === "SIGTERM" ? EXIT.SIGTERM : EXIT.SIGINT);
  const onSignal = (signal: NodeJS.Signals) => {
    if (command.abortable && !interrupted) {
      interrupted = signal;
      // Settling can take seconds (a photo being checked, a claim released): say so at once.
      out.notice(`Stopping… (${signal === "SIGINT" ? "Ctrl-C" : "SIGTERM"} again to stop at once)`);
      controller.abort(new InterruptedError(`Interrupted by ${signal}.`, { signal }));
      setTimeout(() => process.exit(exitFor(signal)), SETTLE_AFTER_SIGNAL_MS).unref();
      return;
    }
    interrupted ??= signal;
    void sselfie.close().finally(() => process.exit(exitFor(signal)));
    setTimeout(() => process.exit(exitFor(signal)), 2_000).unref();
  };
  // Named here: ora re-emits a Ctrl-C typed on a TTY as process.emit("SIGINT"), with no argument.
  const onSigint = () => onSignal("SIGINT");
  const onSigterm = () => onSignal("SIGTERM");
  process.on("SIGINT", onSigint).on("SIGTERM", onSigterm);
  try {
    let principal = null;
    if (command.scope !== null) {
      const userId = command.userId?.(options);
      principal = await sselfie.operators.authenticate({
        token: config.token,
        scope: command.scope === "any" ? null : command.scope,
        action: command.action,
        ...(userId ? { userId } : {}),
      });
    }
    const question = command.confirmation?.(options);
    if (question && !flags.yes) {
      if (out.json || !process.stdin.isTTY) {
        throw new InvalidInputError(`${question} Pass --yes to confirm in a non-interactive run.`, {}, "CONFIRMATION_REQUIRED");
      }
      const { askConfirm } = await import("./prompts.js");
      if (!(await askConfirm(question))) {
        throw new InvalidInputError("Not confirmed; nothing was done.", {}, "NOT_CONFIRMED");
      }
    }
    const result = await command.run({ sselfie, principal, config, flags, out, signal: controller.signal }, options);
    out.result(result.payload, result.text);
    return result.exitCode ?? 0;
  } catch (err) {
    if (!interrupted) throw err;
    // The use-case said what it left and how it is finished: that is the message.
    if (err instanceof InterruptedError && err !== controller.signal.reason) throw err;
    out.note("Interrupted: nothing was kept.");
    return exitFor(interrupted);
  } finally {
    process.off("SIGINT", onSigint).off("SIGTERM", onSigterm);
    await sselfie.close();
  }
}
