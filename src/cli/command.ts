/** The shape of one CLI command: validate (no I/O), then run against the SDK, then render. */
import type { Principal, Scope, Sselfie, SselfieConfig } from "../index.js";
import type { Output } from "./output.js";

export interface GlobalFlags {
  databaseUrl?: string;
  token?: string;
  schema?: string;
  json: boolean;
  yes: boolean;
  color: boolean;
}

export interface CommandRun {
  sselfie: Sselfie;
  /** The verified operator, or null for commands that need no token. */
  principal: Principal | null;
  config: SselfieConfig;
  flags: GlobalFlags;
  out: Output;
  /** Aborted on Ctrl-C (SIGINT) or SIGTERM, for commands that declare `abortable`. */
  signal: AbortSignal;
}

export interface CommandResult {
  payload: unknown;
  text: () => string;
  /** Defaults to 0; e.g. 1 for an audit with violations. */
  exitCode?: number;
}

export interface CliCommand<O> {
  /** The scope the token needs; `null` for commands that need no token; "any" for any valid token. */
  scope: Scope | null | "any";
  /** `false`: the command opens no database (e.g. `prepare`). */
  database?: false;
  /** Ctrl-C aborts `signal` and the command cleans up itself, instead of the process exiting at once. */
  abortable?: boolean;
  /** Recorded with refused attempts in operator_events. */
  action: string;
  /** Turns raw flags into validated options; throws InvalidInputError. Does no I/O. */
  parse(opts: Record<string, unknown>, args: string[]): O;
  userId?(o: O): string | undefined;
  /** A question to confirm before running (needs --yes when not interactive), or null. */
  confirmation?(o: O): string | null;
  run(ctx: CommandRun, o: O): Promise<CommandResult>;
}
