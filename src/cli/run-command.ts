/**
 * Runs one command in the order the contract requires: arguments (exit 2), configuration and
 * database (exit 6), token and scope (exit 3), confirmation, then the work itself.
 */
import { createSselfie, InvalidInputError, loadConfig, replicateTokenLookup } from "../index.js";
import type { CliCommand, GlobalFlags } from "./command.js";
import type { Output } from "./output.js";

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
  });
  // Ctrl-C during a long wait: release the embedded database before leaving (exit 130, as shells do).
  // An abortable command is told instead, and exits the same way once it has cleaned up.
  const controller = new AbortController();
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (command.abortable && !interrupted) {
      interrupted = signal;
      controller.abort(new DOMException(`Interrupted by ${signal}`, "AbortError"));
      return;
    }
    void sselfie.close().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
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
    out.note("Interrupted: nothing was kept.");
    return interrupted === "SIGINT" ? 130 : 143;
  } finally {
    process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
    await sselfie.close();
  }
}
