/**
 * Reads the recorded exchanges with api.replicate.com in test/fixtures/replicate-cassettes/ (two
 * recorder formats: vcrpy's `status.code` + `body.string`, possibly gzip bytes, and the older
 * `status_code` + `content`).
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { parse } from "yaml";

export const CASSETTE_DIR = fileURLToPath(new URL("../fixtures/replicate-cassettes/", import.meta.url));
export const RECORDED_BASE = "https://api.replicate.com/v1";

export interface Recorded {
  cassette: string;
  index: number;
  method: string;
  /** The path under /v1, e.g. "/predictions/abc". */
  path: string;
  requestContentType: string | undefined;
  requestBody: string;
  status: number;
  /** Lower-case names, first value. */
  headers: Record<string, string>;
  body: string;
  json: unknown;
}

type Headers = Record<string, string[] | string>;
interface RawInteraction {
  request: { method: string; uri: string; body: string | null; headers?: Headers };
  response: {
    status?: { code: number };
    status_code?: number;
    headers: Headers;
    body?: { string: string | Uint8Array };
    content?: string;
  };
}

function lowerFirst(headers: Headers | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) out[k.toLowerCase()] = String(Array.isArray(v) ? v[0] : v);
  return out;
}

function bodyText(raw: string | Uint8Array | undefined, headers: Record<string, string>): string {
  if (raw === undefined) return "";
  if (typeof raw === "string") return raw;
  const bytes = Buffer.from(raw);
  return (headers["content-encoding"] === "gzip" ? gunzipSync(bytes) : bytes).toString("utf8");
}

export function loadCassettes(): { name: string; interactions: Recorded[] }[] {
  return readdirSync(CASSETTE_DIR)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((name) => {
      const doc = parse(readFileSync(CASSETTE_DIR + name, "utf8")) as { interactions: RawInteraction[] };
      const interactions = doc.interactions.map((i, index): Recorded => {
        const headers = lowerFirst(i.response.headers);
        const body = bodyText(i.response.body?.string ?? i.response.content, headers);
        let json: unknown;
        try {
          json = body.trim() ? JSON.parse(body) : undefined;
        } catch {
          json = undefined;
        }
        if (!i.request.uri.startsWith(RECORDED_BASE)) throw new Error(`${name}: unexpected URI ${i.request.uri}`);
        return {
          cassette: name,
          index,
          method: i.request.method,
          path: i.request.uri.slice(RECORDED_BASE.length),
          requestContentType: lowerFirst(i.request.headers)["content-type"],
          requestBody: i.request.body ?? "",
          status: i.response.status?.code ?? i.response.status_code ?? 0,
          headers,
          body,
          json,
        };
      });
      return { name, interactions };
    });
}
