/**
 * createSselfie(options) -> the SDK object (a `Sselfie`) that the CLI and backend services use.
 * Resources with verbs, openai-node style: `sselfie.trainings.start(params, { actor, signal })`.
 * The database and the Replicate gateway stay private behind it; close() releases everything this
 * object opened (never a pool handed in by the caller).
 */
import { tmpdir } from "node:os";
import type { Pool } from "pg";
import { defaultHome, HTTP_URL, isHttpUrl } from "./config.js";
import type { SselfieContext } from "./context.js";
import { DEFAULT_SCHEMA, openDatabase } from "./db/connect.js";
import { noDatabase } from "./db/no-database.js";
import { createDatasetsResource, type DatasetsResource } from "./datasets/index.js";
import { createIdentityChecks } from "./identity/dataset-checks.js";
import type { MigrateResult } from "./db/migrate.js";
import type { Database } from "./db/types.js";
import { createOwnerGateways, type OwnerGatewayOptions } from "./owners/owner-gateways.js";
import { validatePricePerSecond } from "./costs/price.js";
import { ConfigError } from "./errors.js";
import { quoteValue } from "./quote-value.js";
import { bootstrapFirstAdmin, type CreatedOperator } from "./operators/operators.js";
import type { ReplicateGatewayOptions } from "./replicate/index.js";
import { Audit } from "./sdk/audit.js";
import { Budgets } from "./sdk/budgets.js";
import { Costs } from "./sdk/costs.js";
import { SdkCore, attachCore } from "./sdk/core.js";
import { Generations } from "./sdk/generations.js";
import { Models } from "./sdk/models.js";
import { Operators } from "./sdk/operators.js";
import { Owners } from "./sdk/owners.js";
import { reconcile, type ReconcileCallOptions, type ReconcileReport } from "./reconcile/index.js";
import { scanCode, type ScanOptions, type ScanParams, type ScanReport } from "./scan/index.js";
import { Trainings } from "./sdk/trainings.js";
import { Users } from "./sdk/users.js";
import { Webhooks } from "./sdk/webhooks.js";
import type { ServeOptions, ServeParams, WebhookServer } from "./server/index.js";

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
  /** The implicit owner of destination models (while no owner is added); default: the account that owns the API token. */
  replicateOwner?: string;
  /**
   * Tokens of added owners (`owners.add({ tokenEnv })`), by variable name: a map, or a lookup
   * function (the CLI's reads the environment). Never stored or printed.
   */
  replicateTokens?: OwnerGatewayOptions["tokens"];
  /** Extra gateway settings (timeouts, concurrency, a custom fetch). */
  replicate?: Partial<Omit<ReplicateGatewayOptions, "apiToken" | "baseUrl">>;
  /** A URL that receives Replicate's webhooks for trainings and predictions. */
  webhookUrl?: string;
  /** USD per GPU second of the hardware (default 0.001525, gpu-h100); recorded with every cost. */
  pricePerSecond?: string | number;
  /** How long a second process waits for the embedded database before giving up. */
  lockTimeoutMs?: number;
  tmpDir?: string;
  /** `false`: open no database at all (only `datasets` and `scan` are usable), as `sselfie prepare` and `sselfie scan` do. */
  database?: false;
  /**
   * `false`: no face checks (for test suites of other rules only): `prepare` reports no faces,
   * trainings record that no identity check vouches for their photos, and `audit` reports each of
   * them (rule training.identity-checked). Default: every set is checked.
   */
  identityCheck?: false;
  /** Told about risks found on the way, e.g. an existing home that other users can open. */
  onWarning?: (message: string) => void;
}

export interface InitResult {
  schemaVersion: number;
  /** Migrations this call applied, in order (empty when the schema was up to date). */
  applied: number[];
  /** The first `admin` operator, created only when there was none; its token is shown only here. */
  operator: CreatedOperator | null;
}

export type { MigrateResult };

/**
 * The sselfie SDK: one object per process (or per backend service), from `createSselfie`.
 * Every verb takes a parameters object (or a user id) and an options object
 * `{ actor, signal, onProgress }`; every verb but `init`/`migrate` first checks that the schema
 * is migrated (ConfigError `NOT_INITIALISED` otherwise). Errors are `SselfieError` subclasses with
 * a stable `code`.
 */
export class Sselfie {
  /** Prepare and check a user's photos (needs neither the database nor Replicate). */
  readonly datasets: DatasetsResource;
  /** Start, read, refresh, wait for and cancel users' trainings. */
  readonly trainings: Trainings;
  /** End users as a whole: erase one (the right to be forgotten). */
  readonly users: Users;
  /** Generate from a user's own completed model, and recover an unfinished generation. */
  readonly generations: Generations;
  /** Resolve the one model a user may generate from. */
  readonly models: Models;
  /** Operators and their tokens: create, list, revoke, authenticate. */
  readonly operators: Operators;
  /** The Replicate accounts that own users' models: add, list, drain (admin). */
  readonly owners: Owners;
  /** Check the locked architecture in the data (and at Replicate). */
  readonly audit: Audit;
  /** Apply Replicate's signed webhook deliveries. */
  readonly webhooks: Webhooks;
  /** What trainings and generations cost (Replicate's predict_time x the price per second). */
  readonly costs: Costs;
  /** Caps per user (and a default) that refuse work before anything is paid for. */
  readonly budgets: Budgets;
  readonly #core: SdkCore;

  /** @internal Use `createSselfie(options)`. */
  constructor(core: SdkCore) {
    this.#core = core;
    this.datasets = createDatasetsResource({
      tmpDir: core.context.tmpDir,
      ...(core.context.identityCheck === false ? {} : { checks: createIdentityChecks() }),
    });
    this.trainings = new Trainings(core);
    this.users = new Users(core);
    this.generations = new Generations(core);
    this.models = new Models(core);
    this.operators = new Operators(core);
    this.owners = new Owners(core);
    this.audit = new Audit(core);
    this.webhooks = new Webhooks(core);
    this.costs = new Costs(core);
    this.budgets = new Budgets(core);
    attachCore(this, core);
  }

  /** Applies pending migrations; creates the first `admin` operator when there is none. */
  async init(): Promise<InitResult> {
    const { schemaVersion, applied } = await this.#core.migrate();
    const operator = await bootstrapFirstAdmin(this.#core.db);
    return { schemaVersion, applied, operator };
  }

  /** Applies pending migrations only (safe to run from many processes at once). */
  migrate(): Promise<MigrateResult> {
    return this.#core.migrate();
  }

  /**
   * Finds backend code that creates Replicate predictions around sselfie (a shared model, LoRA
   * weights, an unlocked input, any other direct call), file by file with line and column. Uses
   * neither the database nor Replicate (`createSselfie({ database: false })` is enough); rejects
   * paths that do not exist with `SCAN_PATH_NOT_FOUND` (an InvalidInputError).
   */
  scan(params: ScanParams = {}, options: ScanOptions = {}): Promise<ScanReport> {
    return scanCode(params, options);
  }

  /**
   * One pass over everything unfinished: trainings not in a final state, generations whose create
   * went unanswered or whose images were not downloaded, stale `pending` claims. Safe to run in
   * several processes at once; an item that fails is listed in `errors` and the pass goes on.
   */
  async reconcile(_params: Record<string, never> = {}, options: ReconcileCallOptions = {}): Promise<ReconcileReport> {
    await this.#core.ready();
    return reconcile(this.#core.context, options);
  }

  /**
   * Receives Replicate's webhooks (`POST /webhooks/replicate`: verified, applied once per
   * webhook-id), answers `GET /healthz`, and reconciles on a timer. Resolves once listening; close
   * the returned server before this object. fastify is loaded only here.
   */
  async serve(params: ServeParams = {}, options: ServeOptions = {}): Promise<WebhookServer> {
    await this.#core.ready();
    return (await import("./server/index.js")).serve(this.#core.context, params, options);
  }

  /** Releases what this object opened: the embedded database and its lock, or its own pool. Idempotent. */
  async close(): Promise<void> {
    await this.#core.db.close();
  }
}

/** Opens the database (embedded by default) and returns the SDK object; Replicate is opened on first use. */
export async function createSselfie(options: SselfieOptions = {}): Promise<Sselfie> {
  const home = options.home ?? defaultHome();
  const pricePerSecond = options.pricePerSecond === undefined ? undefined : validatePricePerSecond(options.pricePerSecond, "pricePerSecond");
  // Checked here, as the CLI checks SSELFIE_WEBHOOK_URL, rather than refused by Replicate at the first create.
  if (options.webhookUrl !== undefined && !isHttpUrl(options.webhookUrl)) {
    throw new ConfigError(`webhookUrl ${quoteValue(options.webhookUrl)} ${HTTP_URL}.`, { option: "webhookUrl" });
  }
  const db: Database =
    options.database === false
      ? noDatabase(options.schema ?? DEFAULT_SCHEMA)
      : await openDatabase({
          databaseUrl: options.databaseUrl,
          pool: options.pool,
          home,
          schema: options.schema,
          lockTimeoutMs: options.lockTimeoutMs,
          ...(options.onWarning ? { onWarning: options.onWarning } : {}),
        });

  const ctx: SselfieContext = {
    db,
    webhookUrl: options.webhookUrl,
    ...(pricePerSecond ? { pricePerSecond } : {}),
    tmpDir: options.tmpDir ?? tmpdir(),
    ...createOwnerGateways(db, {
      replicateApiToken: options.replicateApiToken,
      replicateOwner: options.replicateOwner,
      tokens: options.replicateTokens,
      gateway: { ...options.replicate, ...(options.replicateBaseUrl ? { baseUrl: options.replicateBaseUrl } : {}) },
    }),
    identityCheck: options.identityCheck !== false,
  };
  return new Sselfie(new SdkCore(ctx));
}
