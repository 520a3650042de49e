/** The only place where errors become exit statuses (CONTRACT.md, "Exit codes"). */
import {
  AuthenticationError,
  AuthorizationError,
  ConfigError,
  DatabaseError,
  InterruptedError,
  InvalidInputError,
  OutcomeError,
  ReplicateError,
  SselfieError,
  StateError,
} from "../index.js";

export const EXIT = {
  OK: 0,
  FAILURE: 1,
  INVALID_INPUT: 2,
  AUTH: 3,
  STATE: 4,
  REPLICATE: 5,
  CONFIG: 6,
  /** Stopped by Ctrl-C (SIGINT) or SIGTERM, as shells report it: 128 + the signal's number. */
  SIGINT: 130,
  SIGTERM: 143,
} as const;

export function exitCodeFor(err: unknown): number {
  if (err instanceof InterruptedError) return err.details.signal === "SIGTERM" ? EXIT.SIGTERM : EXIT.SIGINT;
  if (err instanceof OutcomeError) return EXIT.FAILURE;
  if (err instanceof InvalidInputError) return EXIT.INVALID_INPUT;
  if (err instanceof AuthenticationError || err instanceof AuthorizationError) return EXIT.AUTH;
  if (err instanceof StateError) return EXIT.STATE;
  if (err instanceof ReplicateError) return EXIT.REPLICATE;
  if (err instanceof ConfigError || err instanceof DatabaseError) return EXIT.CONFIG;
  if (err instanceof SselfieError) return EXIT.FAILURE;
  // An unexpected error is a bug; 1 says "it ran and failed" without claiming a contract meaning.
  return EXIT.FAILURE;
}
