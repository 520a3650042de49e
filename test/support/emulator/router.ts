/** The route table: which handler answers which method and path, and which rate-limit bucket it uses. */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { Reply } from "./http-util.js";
import type { Bucket } from "./rate-limit.js";
import type { Account, State } from "./state.js";

export interface Ctx {
  state: State;
  method: string;
  path: string;
  params: string[];
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Set on authenticated routes. */
  account: Account;
  /** Parsed JSON body, if the request had one. */
  body: unknown;
  rawBody: Buffer;
  req: IncomingMessage;
  res: ServerResponse;
  /** Aborted when the client goes away or the emulator closes. */
  signal: AbortSignal;
}

export type Handler = (ctx: Ctx) => Reply | Promise<Reply>;

export interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
  /** false for replicate.delivery-like downloads. */
  auth: boolean;
  bucket: Bucket;
}

export function route(method: string, path: string, handler: Handler, opts: Partial<Pick<Route, "auth" | "bucket">> = {}): Route {
  const pattern = new RegExp(`^${path.replace(/:[a-z_]+/g, "([^/]+)")}/?$`);
  return { method, pattern, handler, auth: opts.auth ?? true, bucket: opts.bucket ?? "other" };
}

export type Match = { route: Route; params: string[] } | { methodNotAllowed: true } | undefined;

export function matchRoute(routes: Route[], method: string, path: string): Match {
  let pathMatched = false;
  for (const r of routes) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    pathMatched = true;
    if (r.method === method || (method === "HEAD" && r.method === "GET")) {
      return { route: r, params: m.slice(1).map((p) => decodeURIComponent(p)) };
    }
  }
  return pathMatched ? { methodNotAllowed: true } : undefined;
}
