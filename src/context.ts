/**
 * What every use-case receives: the database, and Replicate reached through the gateway of the
 * owner concerned (opened lazily, so that commands that never talk to Replicate need no token).
 */
import type { Database } from "./db/types.js";
import type { ReplicateGateway } from "./replicate/index.js";

export interface SselfieContext {
  readonly db: Database;
  /**
   * The gateway of the owner holding the user's model (the owner recorded on their user_models
   * row): every call for a user goes through it. StateError USER_NOT_PLACED when the user has no row.
   */
  gatewayForUser(userId: string): Promise<ReplicateGateway>;
  /**
   * The gateway acting for `owner` with the token its owners row names (REPLICATE_API_TOKEN for the
   * implicit owner); ConfigError MISSING_REPLICATE_TOKEN when that token is not set.
   */
  gatewayForOwner(owner: string): Promise<ReplicateGateway>;
  /** The implicit owner: REPLICATE_OWNER, or the account that owns REPLICATE_API_TOKEN (asked once). */
  implicitOwner(): Promise<string>;
  /** Where trainings and predictions report to, when the service receives webhooks. */
  readonly webhookUrl: string | undefined;
  /** USD per GPU second recorded with each cost (exact decimal string); default DEFAULT_PRICE_PER_SECOND. */
  readonly pricePerSecond?: string;
  /** A folder for temporary files (zips, partial downloads). */
  readonly tmpDir: string;
  /**
   * `false`: photo sets get no face checks (for tests of other rules): `prepare` reports no faces,
   * trainings record no identity check, and `audit` reports every such training
   * (training.identity-checked). Default: checked.
   */
  readonly identityCheck?: boolean;
}
