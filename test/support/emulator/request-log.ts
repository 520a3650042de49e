/** Path matching shared by requestsTo() and fault injection; "/v1" may be left out of a string pattern. */
export function pathMatches(pattern: string | RegExp, path: string): boolean {
  const short = path.startsWith("/v1/") ? path.slice(3) : path;
  if (pattern instanceof RegExp) {
    pattern.lastIndex = 0;
    if (pattern.test(path)) return true;
    pattern.lastIndex = 0;
    return pattern.test(short);
  }
  if (!pattern.includes("*")) return pattern === path || pattern === short;
  const glob = new RegExp(`^${pattern.split("*").map(escape).join("[^/]+")}$`);
  return glob.test(path) || glob.test(short);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export function methodMatches(expected: string | undefined, method: string): boolean {
  return expected === undefined || expected === "*" || expected.toUpperCase() === method;
}

export function redactHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = name === "authorization" ? "[redacted]" : Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}
