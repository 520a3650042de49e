/**
 * The only module that reads process.env. Settings come from flags, then the environment, then
 * the config file in SSELFIE_HOME, then defaults; they are validated once and frozen.
 */
import { readFileSync } from "node:fs";
import { chmod, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { SCHEMA_NAME_PATTERN } from "./db/types.js";
import { DEFAULT_PRICE_PER_SECOND, validatePricePerSecond } from "./costs/price.js";
import { ConfigError } from "./errors.js";
import { ensureDirectory, homeUnusableError, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from "./fs-safety.js";
import { DEFAULT_BASE_URL } from "./replicate/defaults.js";

export const CONFIG_FILE_NAME = "config.json";

/** What the config file may hold (written by `sselfie login`). */
const fileSchema = z
  .object({
    token: z.string().optional(),
    databaseUrl: z.string().optional(),
    schema: z.string().optional(),
    replicateOwner: z.string().optional(),
    replicateBaseUrl: z.string().optional(),
  })
  .strict();
export type ConfigFile = z.infer<typeof fileSchema>;

/** One check, one message: a value that is no URL at all and an ftp:// one are refused alike. */
export const HTTP_URL = "must be an http(s) URL (e.g. https://example.com/path)";
export function isHttpUrl(value: string): boolean {
  try {
    const { protocol, hostname } = new URL(value);
    return (protocol === "http:" || protocol === "https:") && hostname !== "";
  } catch {
    return false;
  }
}

const configSchema = z.object({
  home: z.string().min(1),
  databaseUrl: z
    .string()
    .refine((v) => /^postgres(ql)?:\/\//.test(v), "must start with postgres:// or postgresql://")
    .optional(),
  schema: z
    .string()
    .regex(SCHEMA_NAME_PATTERN, "must be a lowercase SQL identifier (letters, digits, _)"),
  token: z.string().min(1).optional(),
  replicateApiToken: z.string().min(1).optional(),
  replicateOwner: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/i, "must be a Replicate account or organisation name")
    .optional(),
  replicateBaseUrl: z.string().refine(isHttpUrl, HTTP_URL),
  webhookUrl: z.string().refine(isHttpUrl, HTTP_URL).optional(),
  /** USD per GPU second, an exact decimal string (costs are `numeric`, never floats). */
  pricePerSecond: z.string().refine((v) => {
    try {
      validatePricePerSecond(v);
      return true;
    } catch {
      return false;
    }
  }, "must be a decimal price in USD per second above 0 and at most 1 (e.g. 0.001525)"),
  /**
   * SSELFIE_IDENTITY_CHECK=off: no face checks, for test suites of other rules. Trainings then
   * record that nothing vouches for their photos, and `audit` reports each one.
   */
  identityCheck: z.boolean(),
  /**
   * SSELFIE_REPLICATE_TIMEOUT: seconds Replicate has to answer one attempt of a request (an upload
   * gets more by its size), 0.1 to 600; unset: the gateway's 30.
   */
  replicateTimeoutMs: z
    .string()
    .regex(/^\d+(\.\d+)?$/, "must be a number of seconds")
    .transform((v) => Math.round(Number(v) * 1000))
    .refine((ms) => ms >= 100 && ms <= 600_000, "must be between 0.1 and 600 seconds")
    .optional(),
});
export type SselfieConfig = Readonly<z.infer<typeof configSchema>>;

/** Flags as the CLI parsed them; unset flags must not override anything. */
export interface ConfigFlags {
  databaseUrl?: string | undefined;
  token?: string | undefined;
  schema?: string | undefined;
}

/** Where sselfie keeps its embedded database and config file by default. */
export function defaultHome(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (platform === "darwin") return join(homedir(), "Library", "Application Support", "sselfie");
  if (platform === "win32") return join(env.LOCALAPPDATA ?? join(homedir(), "AppData", "Local"), "sselfie");
  return join(env.XDG_DATA_HOME || join(homedir(), ".local", "share"), "sselfie");
}

export function configFilePath(home: string): string {
  return join(home, CONFIG_FILE_NAME);
}

export function readConfigFile(home: string): ConfigFile {
  const path = configFilePath(home);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return {};
    if (code === "ENOTDIR") throw homeUnusableError(home, err, "its config file and data");
    throw new ConfigError(`Cannot read the config file ${path}: ${(err as Error).message}`, { path });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError(`The config file ${path} is not valid JSON. Fix or delete it.`, { path });
  }
  const result = fileSchema.safeParse(parsed);
  if (!result.success) {
    throw new ConfigError(`The config file ${path} is invalid: ${describeIssues(result.error)}`, { path });
  }
  return result.data;
}

/**
 * Adds `changes` to the config file (made with mode 0600, in a home made 0700 when missing) and
 * returns its path. A home that cannot be made or written is a ConfigError (HOME_UNUSABLE).
 */
export async function saveConfigFile(home: string, changes: ConfigFile): Promise<string> {
  const path = configFilePath(home);
  try {
    await ensureDirectory(home, PRIVATE_DIR_MODE);
    const next = { ...readConfigFile(home), ...changes };
    await writeFile(path, `${JSON.stringify(next, null, 2)}\n`, { mode: PRIVATE_FILE_MODE });
    // An existing file keeps its mode through writeFile.
    await chmod(path, PRIVATE_FILE_MODE);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw homeUnusableError(home, err, "its config file (the saved token)");
  }
  return path;
}

/** Names each setting as an operator would set it, for error messages. */
const SETTING_NAMES: Record<string, string> = {
  home: "SSELFIE_HOME",
  databaseUrl: "--database-url / DATABASE_URL",
  schema: "--schema / SSELFIE_SCHEMA",
  token: "--token / SSELFIE_TOKEN",
  replicateApiToken: "REPLICATE_API_TOKEN",
  replicateOwner: "REPLICATE_OWNER",
  replicateBaseUrl: "REPLICATE_BASE_URL",
  webhookUrl: "SSELFIE_WEBHOOK_URL",
  pricePerSecond: "SSELFIE_PRICE_PER_SECOND",
  identityCheck: "SSELFIE_IDENTITY_CHECK",
  replicateTimeoutMs: "SSELFIE_REPLICATE_TIMEOUT",
};

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const key = String(i.path[0] ?? "");
      return `${SETTING_NAMES[key] ?? key} ${i.message}`;
    })
    .join("; ");
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

/**
 * Settings where an empty value would silently pick another target than the one meant (the default
 * home, the embedded database instead of a server, the default schema, the token saved by `login`,
 * the token's own account, the real Replicate API): set but empty is a mistake (an unset CI
 * secret, a typo), so it is refused rather than taken for "unset".
 */
const MUST_NOT_BE_EMPTY_ENV = [
  "SSELFIE_HOME",
  "DATABASE_URL",
  "SSELFIE_SCHEMA",
  "SSELFIE_TOKEN",
  "REPLICATE_OWNER",
  "REPLICATE_BASE_URL",
] as const;
const MUST_NOT_BE_EMPTY_FLAGS: Record<keyof ConfigFlags, string> = {
  databaseUrl: "--database-url",
  schema: "--schema",
  token: "--token",
};

function refuseEmptyValues(flags: ConfigFlags, env: NodeJS.ProcessEnv): void {
  const empty = [
    ...(Object.keys(MUST_NOT_BE_EMPTY_FLAGS) as Array<keyof ConfigFlags>)
      .filter((k) => flags[k] !== undefined && flags[k]!.trim() === "")
      .map((k) => MUST_NOT_BE_EMPTY_FLAGS[k]),
    ...MUST_NOT_BE_EMPTY_ENV.filter((name) => env[name] !== undefined && env[name]!.trim() === ""),
  ];
  if (empty.length === 0) return;
  throw new ConfigError(
    `${empty.join(", ")} ${empty.length === 1 ? "is" : "are"} set but empty: give ${empty.length === 1 ? "it a value" : "each a value"}, ` +
      `or leave ${empty.length === 1 ? "it" : "them"} unset for the default.`,
    { settings: empty },
  );
}

export function loadConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env): SselfieConfig {
  refuseEmptyValues(flags, env);
  const home = nonEmpty(env.SSELFIE_HOME) ?? defaultHome(env);
  const file = readConfigFile(home);
  const candidate = {
    home,
    databaseUrl: nonEmpty(flags.databaseUrl) ?? nonEmpty(env.DATABASE_URL) ?? nonEmpty(file.databaseUrl),
    schema: nonEmpty(flags.schema) ?? nonEmpty(env.SSELFIE_SCHEMA) ?? nonEmpty(file.schema) ?? "sselfie",
    token: nonEmpty(flags.token) ?? nonEmpty(env.SSELFIE_TOKEN) ?? nonEmpty(file.token),
    replicateApiToken: nonEmpty(env.REPLICATE_API_TOKEN),
    replicateOwner: nonEmpty(env.REPLICATE_OWNER) ?? nonEmpty(file.replicateOwner),
    replicateBaseUrl:
      nonEmpty(env.REPLICATE_BASE_URL) ?? nonEmpty(file.replicateBaseUrl) ?? DEFAULT_BASE_URL,
    webhookUrl: nonEmpty(env.SSELFIE_WEBHOOK_URL),
    pricePerSecond: nonEmpty(env.SSELFIE_PRICE_PER_SECOND) ?? DEFAULT_PRICE_PER_SECOND,
    identityCheck: nonEmpty(env.SSELFIE_IDENTITY_CHECK) !== "off",
    replicateTimeoutMs: nonEmpty(env.SSELFIE_REPLICATE_TIMEOUT),
  };
  const result = configSchema.safeParse(candidate);
  if (!result.success) {
    throw new ConfigError(`Invalid configuration: ${describeIssues(result.error)}`, {
      settings: result.error.issues.map((i) => SETTING_NAMES[String(i.path[0])] ?? String(i.path[0])),
    });
  }
  return Object.freeze(result.data);
}

/**
 * Reads an added owner's Replicate token from the environment variable its owners row names
 * (`owners add --token-env VAR`). The token is handed to that owner's gateway and nowhere else.
 */
export function replicateTokenLookup(env: NodeJS.ProcessEnv = process.env): (tokenEnv: string) => string | undefined {
  return (tokenEnv) => nonEmpty(env[tokenEnv]);
}
