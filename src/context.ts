/**
 * What every use-case receives: the database, and Replicate opened lazily so that commands that
 * never talk to Replicate need no Replicate token.
 */
import type { Database } from "./db/types.js";
import type { ReplicateGateway } from "./replicate/index.js";

export interface SselfieContext {
  readonly db: Database;
  /** The gateway; throws ConfigError MISSING_REPLICATE_TOKEN when no token was configured. */
  replicate(): Promise<ReplicateGateway>;
  /** REPLICATE_OWNER, or the account that owns the API token (asked once). */
  owner(): Promise<string>;
  /** Where trainings and predictions report to, when the service receives webhooks. */
  readonly webhookUrl: string | undefined;
  /** A folder for temporary files (zips, partial downloads). */
  readonly tmpDir: string;
}
