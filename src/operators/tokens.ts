/**
 * Operator tokens: `sselfie_` + 40 base62 characters of randomness (238 bits) + a 6-character
 * base62 CRC32 checksum. The prefix lets secret scanners spot a leaked token; the checksum lets
 * them (and us) reject a mistyped one without a database look-up. Only the sha256 is stored.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { crc32 } from "node:zlib";

export const TOKEN_PREFIX = "sselfie_";
const BODY_LENGTH = 40;
const CHECKSUM_LENGTH = 6;
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const TOKEN_PATTERN = new RegExp(`^${TOKEN_PREFIX}[0-9A-Za-z]{${BODY_LENGTH + CHECKSUM_LENGTH}}$`);

export const SCOPES = ["read", "train", "generate", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 248 = 4 * 62: rejecting bytes above it keeps every character equally likely.
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62];
    }
  }
  return out;
}

function checksum(body: string): string {
  let n = crc32(Buffer.from(body));
  let out = "";
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

export function generateToken(): string {
  const body = randomBase62(BODY_LENGTH);
  return `${TOKEN_PREFIX}${body}${checksum(body)}`;
}

/** Well-formed: right prefix, length, alphabet and checksum. Says nothing about validity. */
export function isWellFormedToken(token: string): boolean {
  if (!TOKEN_PATTERN.test(token)) return false;
  const body = token.slice(TOKEN_PREFIX.length, TOKEN_PREFIX.length + BODY_LENGTH);
  const sum = Buffer.from(token.slice(TOKEN_PREFIX.length + BODY_LENGTH));
  return timingSafeEqual(sum, Buffer.from(checksum(body)));
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** A short, non-secret label to tell tokens apart in listings. */
export function tokenHint(token: string): string {
  return token.slice(0, TOKEN_PREFIX.length + 4);
}

export function hashesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && timingSafeEqual(x, y);
}

export function parseScopes(value: string | readonly string[]): Scope[] {
  const list = (typeof value === "string" ? value.split(",") : value).map((s) => s.trim()).filter(Boolean);
  return [...new Set(list)] as Scope[];
}

export function invalidScopes(scopes: readonly string[]): string[] {
  return scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
}

/** `admin` implies every scope. */
export function hasScope(granted: readonly string[], needed: Scope): boolean {
  return granted.includes("admin") || granted.includes(needed);
}
