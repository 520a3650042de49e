/**
 * createSselfie(options) -> the SDK object the CLI and backend services use. close() releases
 * everything this object opened (never a pool handed in by the caller).
 */
import { tmpdir } from "node:os";
import type { Pool } from "pg";
import { defaultHome } from "./config.js";
import type { SselfieContext } from "./context.js";
import { DEFAULT_SCHEMA, openDatabase } from "./db/connect.js";
import { noDatabase } from "./db/no-database.js";
import { createDatasetsResource } from "./datasets/index.js";
import { migrate, schemaStatus } from "./db/migrate.js";
import type { Database } from "./db/types.js";
import { ConfigError, DatabaseError } from "./errors.js";
import {
  authenticate,
  bootstrapFirstAdmin,
  createOperator,
  listOperators,
  revokeOperator,
  type CreatedOperator,
  type Operator,
  type Principal,
} from "./operators/operators.js";
import type { Scope } from "./operators/tokens.js";
import type { ReplicateGateway, ReplicateGatewayOptions } from "./replicate/index.js";
import { generate, recoverGeneration, resolveUserModel, type GenerateOptions, type RecoverOptions } from "./generation/index.js";
import {
  cancelTraining,
  getTrainingStatus,
  refreshTraining,
  startTraining,
  waitForTraining,
  type StartTrainingParams,
  type WaitForTrainingOptions,
} from "./training/index.js";
import { runAudit, type AuditOptions } from "./audit/index.js";
import { handleReplicateWebhook, type WebhookOptions, type WebhookRequest } from "./webhooks/index.js";
import { reconcile, type ReconcileCallOptions, type ReconcileReport } from "./reconcile/index.js";

export interface SselfieOptions {
  /** A PostgreSQL connection string; without it (and without `pool`) the embedded database is used. */
  databaseUrl?: string;
  /** A pool owned by the caller (a backend service); sselfie never ends it. */
  pool?: Pool;
  /** Data and config directory (embedded database under `<home>/db`). */
  home?: string;
  /** Postgres schema holding sselfie's tables (default `sselfie`). */
  schema?: string;
  replicateApiToken?: string;
  replicateBaseUrl?: string;
  /** Owner of the destination models; default: the account that owns the API token. */
  replicateOwner?: string;
  /** Extra gateway settings (timeouts, concurrency, a custom fetch). */
  replicate?: Partial<Omit<ReplicateGatewayOptions, "apiToken" | "baseUrl">>;
  /** A URL that receives Replicate's webhooks for trainings and predictions. */
  webhookUrl?: string;
  /** How long a second process waits for the embedded database before giving up. */
  lockTimeoutMs?: number;
  tmpDir?: string;
  /** `false`: open no database at all (only `datasets` is usable), as `sselfie prepare` does. */
  database?: false;
}

export interface InitResult {
  schemaVersion: number;
  applied: number[];
  operator: CreatedOperator | null;
}

export async function createSselfie(options: SselfieOptions = {}) {
  const home = options.home ?? defaultHome();
  const db: Database =
    options.database === false
      ? noDatabase(options.schema ?? DEFAULT_SCHEMA)
      : await openDatabase({
          databaseUrl: options.databaseUrl,
          pool: options.pool,
          home,
          schema: options.schema,
          lockTimeoutMs: options.lockTimeoutMs,
        });

  let gateway: Promise<ReplicateGateway> | undefined;
  let owner: Promise<string> | undefined;
  const ctx: SselfieContext = {
    db,
    webhookUrl: options.webhookUrl,
    tmpDir: options.tmpDir ?? tmpdir(),
    replicate() {
      gateway ??= (async () => {
        if (!options.replicateApiToken) {
          throw new ConfigError(
            "REPLICATE_API_TOKEN is not set: sselfie needs a Replicate API token for this command.",
            {},
            "MISSING_REPLICATE_TOKEN",
          );
        }
        const { createReplicateGateway } = await import("./replicate/index.js");
        return createReplicateGateway({
          ...options.replicate,
          apiToken: options.replicateApiToken,
          ...(options.replicateBaseUrl ? { baseUrl: options.replicateBaseUrl } : {}),
        });
      })();
      gateway.catch(() => (gateway = undefined));
      return gateway;
    },
    owner() {
      owner ??= options.replicateOwner
        ? Promise.resolve(options.replicateOwner)
        : ctx.replicate().then(async (r) => (await r.getAccount()).username);
      owner.catch(() => (owner = undefined));
      return owner;
    },
  };

  return {
    /** The database this object uses (for backends that want to run their own queries). */
    db,
    context: ctx,

    /** Preparing a user's photos (no database or Replicate needed). */
    datasets: createDatasetsResource({ tmpDir: ctx.tmpDir }),

    /** Applies pending migrations; creates the first admin operator when there is none. */
    async init(): Promise<InitResult> {
      const { schemaVersion, applied } = await migrate(db);
      const operator = await bootstrapFirstAdmin(db);
      return { schemaVersion, applied, operator };
    },
    migrate: () => migrate(db),
    schemaStatus: () => schemaStatus(db),

    /** Refuses with NOT_INITIALISED unless the schema is fully migrated. */
    async requireSchema(): Promise<void> {
      const status = await schemaStatus(db);
      if (status.tooNew) {
        throw new DatabaseError(
          `The database schema "${db.schema}" is at version ${status.schemaVersion}, newer than this sselfie knows (${status.latestVersion}): upgrade sselfie.`,
          { current: status.schemaVersion, latest: status.latestVersion },
          "SCHEMA_TOO_NEW",
        );
      }
      if (status.pending.length > 0) {
        throw new ConfigError(
          status.schemaVersion === 0
            ? `The database has no sselfie schema "${db.schema}" yet: run \`sselfie init\` first.`
            : `The database schema is at version ${status.schemaVersion} but this sselfie needs ${status.latestVersion}: run \`sselfie init\`.`,
          { current: status.schemaVersion, latest: status.latestVersion },
          "NOT_INITIALISED",
        );
      }
    },

    authenticate: (token: string | undefined, scope: Scope | null, context: { action: string; userId?: string }) =>
      authenticate(db, token, scope, context),

    operators: {
      create: (actor: Principal, input: { name: string; scopes: string | readonly string[] }) =>
        createOperator(db, actor, input),
      list: (): Promise<Operator[]> => listOperators(db),
      revoke: (actor: Principal, name: string) => revokeOperator(db, actor, name),
    },

    /**
     * Checks the images, ensures the user's private model, uploads and starts the locked trainer.
     * `actor` names who acts (an operator, or a backend service) in operator_events.
     */
    train: (actor: string | null, params: StartTrainingParams) => startTraining(ctx, actor, params),
    /** Refreshes the user's latest training from Replicate and stores the outcome. */
    status: (actor: string | null, userId: string) => refreshTraining(ctx, actor, userId),
    /** The stored status, without asking Replicate. */
    storedStatus: (userId: string) => getTrainingStatus(ctx, userId),
    waitForTraining: (actor: string | null, userId: string, opts?: WaitForTrainingOptions) =>
      waitForTraining(ctx, actor, userId, opts),
    cancel: (actor: string | null, userId: string) => cancelTraining(ctx, actor, userId),

    /** The user's own `{owner}/{userId}-selfie-lora:{version}`, or a typed refusal. */
    resolveUserModel: (userId: string, opts?: { actor?: string | null }) => resolveUserModel(ctx, userId, opts),
    /** Generates with the locked input from the user's own completed model; downloads the PNGs. */
    generate: (actor: string | null, opts: GenerateOptions) => generate(ctx, actor, opts),
    /** Finds and finishes a generation whose create call got no answer. */
    recoverGeneration: (actor: string | null, opts: RecoverOptions) => recoverGeneration(ctx, actor, opts),

    /** Checks the locked architecture in the data (and at Replicate with `remote: true`); changes nothing. */
    audit: (options?: AuditOptions) => runAudit(ctx, options),

    /** Verifies and applies one Replicate webhook delivery (training or prediction). */
    handleWebhook: (request: WebhookRequest, opts?: WebhookOptions) => handleReplicateWebhook(ctx, request, opts),

    /**
     * One pass over everything unfinished: trainings not in a final state, generations whose create
     * went unanswered or whose images were not downloaded, stale `pending` claims. Safe to run in
     * several processes at once; an item that fails is listed in `errors` and the pass goes on.
     */
    reconcile: (_params: Record<string, never> = {}, opts: ReconcileCallOptions = {}): Promise<ReconcileReport> => reconcile(ctx, opts),

    async close(): Promise<void> {
      await db.close();
    },
  };
}

export type Sselfie = Awaited<ReturnType<typeof createSselfie>>;
