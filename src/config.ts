/**
 * The only module that reads process.env. Settings come from flags, then the environment, then
 * the config file in SSELFIE_HOME, then defaults; they are validated once and frozen.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { SCHEMA_NAME_PATTERN } from "./db/types.js";
import { DEFAULT_PRICE_PER_SECOND, validatePricePerSecond } from "./costs/price.js";
import { ConfigError } from "./errors.js";
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
  replicateBaseUrl: z.string().url("must be an http(s) URL").refine((v) => /^https?:\/\//.test(v), "must be http(s)"),
  webhookUrl: z.string().url("must be an http(s) URL").refine((v) => /^https?:\/\//.test(v), "must be http(s)").optional(),
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
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
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

export function loadConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env): SselfieConfig {
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
