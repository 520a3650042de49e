/**
 * The only module that reads process.env. Settings come from flags, then the environment, then
 * the config file in SSELFIE_HOME, then defaults; they are validated once and frozen.
 */
import { readFileSync } from "node:fs";
import { chmod, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { SCHEMA_NAME_PATTERN } from "./db/types.js";
import { DEFAULT_PRICE_PER_SECOND, validatePricePerSecond } from "./costs/price.js";
import { ConfigError } from "./errors.js";
import { ensureDirectory, homeUnusableError, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from "./fs-safety.js";
import { DEFAULT_BASE_URL } from "./replicate/defaults.js";

export const CONFIG_FILE_NAME = "config.json";

/** What the config file may hold (written by `sselfie login`): these keys, each a string. */
const FILE_KEYS = ["token", "databaseUrl", "schema", "replicateOwner", "replicateBaseUrl"] as const;
export type ConfigFile = { [K in (typeof FILE_KEYS)[number]]?: string };

/** What is wrong with a parsed config file (nothing: it is a ConfigFile). */
function configFileIssues(parsed: unknown): string[] {
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return [`it must hold a JSON object, not ${parsed === null ? "null" : Array.isArray(parsed) ? "an array" : `a ${typeof parsed}`}`];
  }
  return Object.entries(parsed).flatMap(([key, value]) => {
    if (!(FILE_KEYS as readonly string[]).includes(key)) return [`unknown key ${JSON.stringify(key)} (it may hold ${FILE_KEYS.join(", ")})`];
    if (typeof value !== "string") return [`${key} must be a string, not ${value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`}`];
    return [];
  });
}

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

/** The validated settings, frozen. */
export type SselfieConfig = Readonly<{
  home: string;
  databaseUrl?: string | undefined;
  schema: string;
  token?: string | undefined;
  replicateApiToken?: string | undefined;
  replicateOwner?: string | undefined;
  replicateBaseUrl: string;
  webhookUrl?: string | undefined;
  /** USD per GPU second, an exact decimal string (costs are `numeric`, never floats). */
  pricePerSecond: string;
  /**
   * SSELFIE_IDENTITY_CHECK=off: no face checks, for test suites of other rules. Trainings then
   * record that nothing vouches for their photos, and `audit` reports each one.
   */
  identityCheck: boolean;
  /**
   * SSELFIE_REPLICATE_TIMEOUT: seconds Replicate has to answer one attempt of a request (an upload
   * gets more by its size), 0.1 to 600; unset: the gateway's 30.
   */
  replicateTimeoutMs?: number | undefined;
}>;

type SettingsText = { [K in keyof SselfieConfig]: SselfieConfig[K] extends boolean ? boolean : string | undefined };

/**
 * Each string setting's rule and the message when a set value breaks it, in the order they are
 * reported. A plain table rather than a zod schema: every command loads this module, and zod's
 * import alone (95 files) was measured at 0.27-0.98 s on a loaded machine (bench/README.md).
 */
const RULES: ReadonlyArray<{ key: Exclude<keyof SselfieConfig, "identityCheck">; ok: (v: string) => boolean; message: string }> = [
  { key: "home", ok: (v) => v.length > 0, message: "must not be empty" },
  { key: "databaseUrl", ok: (v) => /^postgres(ql)?:\/\//.test(v), message: "must start with postgres:// or postgresql://" },
  { key: "schema", ok: (v) => SCHEMA_NAME_PATTERN.test(v), message: "must be a lowercase SQL identifier (letters, digits, _)" },
  { key: "token", ok: (v) => v.length > 0, message: "must not be empty" },
  { key: "replicateApiToken", ok: (v) => v.length > 0, message: "must not be empty" },
  { key: "replicateOwner", ok: (v) => /^[a-z0-9][a-z0-9_-]*$/i.test(v), message: "must be a Replicate account or organisation name" },
  { key: "replicateBaseUrl", ok: isHttpUrl, message: HTTP_URL },
  { key: "webhookUrl", ok: isHttpUrl, message: HTTP_URL },
  {
    key: "pricePerSecond",
    ok: (v) => {
      try {
        validatePricePerSecond(v);
        return true;
      } catch {
        return false;
      }
    },
    message: "must be a decimal price in USD per second above 0 and at most 1 (e.g. 0.001525)",
  },
  { key: "replicateTimeoutMs", ok: (v) => /^\d+(\.\d+)?$/.test(v), message: "must be a number of seconds" },
  { key: "replicateTimeoutMs", ok: (v) => timeoutMs(v) >= 100 && timeoutMs(v) <= 600_000, message: "must be between 0.1 and 600 seconds" },
];

function timeoutMs(seconds: string): number {
  return Math.round(Number(seconds) * 1000);
}

/** The settings that break a rule, each with its message (a setting's later rules are not checked once one fails). */
function settingIssues(candidate: SettingsText): Array<{ key: string; message: string }> {
  const issues: Array<{ key: string; message: string }> = [];
  for (const rule of RULES) {
    const value = candidate[rule.key];
    if (typeof value !== "string" || issues.some((i) => i.key === rule.key)) continue;
    if (!rule.ok(value)) issues.push({ key: rule.key, message: rule.message });
  }
  return issues;
}

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
  const issues = configFileIssues(parsed);
  if (issues.length > 0) throw new ConfigError(`The config file ${path} is invalid: ${issues.join("; ")}.`, { path });
  return parsed as ConfigFile;
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

function describeIssues(issues: ReadonlyArray<{ key: string; message: string }>): string {
  return issues.map((i) => `${SETTING_NAMES[i.key] ?? i.key} ${i.message}`).join("; ");
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
  const candidate: SettingsText = {
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
  const issues = settingIssues(candidate);
  if (issues.length > 0) {
    throw new ConfigError(`Invalid configuration: ${describeIssues(issues)}`, {
      settings: issues.map((i) => SETTING_NAMES[i.key] ?? i.key),
    });
  }
  const { replicateTimeoutMs, ...settings } = candidate;
  return Object.freeze({
    ...(settings as Omit<SselfieConfig, "replicateTimeoutMs">),
    replicateTimeoutMs: replicateTimeoutMs === undefined ? undefined : timeoutMs(replicateTimeoutMs),
  });
}

/**
 * Reads an added owner's Replicate token from the environment variable its owners row names
 * (`owners add --token-env VAR`). The token is handed to that owner's gateway and nowhere else.
 */
export function replicateTokenLookup(env: NodeJS.ProcessEnv = process.env): (tokenEnv: string) => string | undefined {
  return (tokenEnv) => nonEmpty(env[tokenEnv]);
}
