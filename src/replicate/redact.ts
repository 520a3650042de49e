/**
 * The API token must not survive into any message, detail or stack we produce. Besides the exact
 * token, anything shaped like a bearer credential or a Replicate token is masked too, in case a
 * server or a library echoes one back in another form.
 */
export const REDACTED = "[REDACTED]";

const PATTERNS = [/Bearer\s+[^\s"',;]+/gi, /\br8_[A-Za-z0-9]{8,}/g];

export type Redactor = (text: string) => string;

export function createRedactor(token: string): Redactor {
  const secret = token.trim();
  return (text: string): string => {
    let out = text;
    // A very short token would mask ordinary words; such a token is rejected by Replicate anyway.
    if (secret.length >= 6) out = out.split(secret).join(REDACTED);
    for (const pattern of PATTERNS) out = out.replace(pattern, (m) => (m.toLowerCase().startsWith("bearer") ? `Bearer ${REDACTED}` : REDACTED));
    return out;
  };
}

/** Deep copy of plain data with every string redacted (details attached to errors). */
export function redactDeep(value: unknown, redact: Redactor, depth = 0): unknown {
  if (typeof value === "string") return redact(value);
  if (depth > 8 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, redact, depth + 1));
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, redactDeep(v, redact, depth + 1)]));
}
