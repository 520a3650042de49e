/**
 * The HTTP pipeline: record the request, apply an injected fault, authenticate, rate-limit, bring
 * every job up to the clock, run the handler, answer with rate-limit headers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from "node:http";
import { createHash } from "node:crypto";
import { authenticate, unauthenticated } from "./auth.js";
import { takeFault } from "./faults.js";
import { tooLarge } from "./files.js";
import { BodyTooLargeError, notFound, problem, readBody, type Reply } from "./http-util.js";
import { tick } from "./jobs.js";
import { boundaryOf, parseMultipart } from "./multipart.js";
import { createRateLimiter, throttled } from "./rate-limit.js";
import { redactHeaders } from "./request-log.js";
import { matchRoute, type Route } from "./router.js";
import type { State } from "./state.js";
import type { RecordedRequest } from "./types.js";
import type { WebhookDispatcher } from "./webhooks.js";

const JSON_LIMIT = 10 * 1024 * 1024;
const MULTIPART_SLACK = 1024 * 1024;

export function createEmulatorServer(state: State, routes: Route[], webhooks: WebhookDispatcher): Server {
  const limiter = createRateLimiter(state);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", state.origin || "http://127.0.0.1");
    const method = (req.method ?? "GET").toUpperCase();
    const path = url.pathname;
    const record: RecordedRequest = {
      method,
      path,
      query: Object.fromEntries(url.searchParams),
      headers: redactHeaders(req.headers),
      body: undefined,
      status: 0,
      at: state.clock.now(),
    };
    state.requests.push(record);
    const aborted = new AbortController();
    res.on("close", () => aborted.abort());
    const signal = AbortSignal.any([aborted.signal, state.shutdown.signal]);
    const send = (reply: Reply, extra: Record<string, string> = {}) => write(res, method, record, reply, extra);

    const fault = takeFault(state, method, path);
    let rawBody: Buffer;
    try {
      const limit = path === "/v1/files" ? state.options.maxFileBytes + MULTIPART_SLACK : JSON_LIMIT;
      rawBody = await readBody(req, limit, fault?.kind === "slow-read" ? fault.bytesPerSecond : undefined);
    } catch (err) {
      if (!(err instanceof BodyTooLargeError)) throw err;
      res.setHeader("connection", "close");
      return send(path === "/v1/files" ? tooLarge() : problem(413, "Request body too large"));
    }
    const contentType = String(req.headers["content-type"] ?? "");
    record.body = summarizeBody(rawBody, contentType);

    let crashAfter = false;
    if (fault?.kind === "drop") {
      record.dropped = true;
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "status") {
      const body = fault.body ?? { detail: STATUS_CODES[fault.status] ?? "Error", status: fault.status };
      const isText = typeof body === "string";
      const contentType = isText ? "text/plain; charset=utf-8" : fault.status >= 400 ? "application/problem+json" : "application/json";
      return send({
        status: fault.status,
        ...(isText ? { bytes: Buffer.from(body) } : { json: body }),
        contentType,
        ...(fault.headers ? { headers: fault.headers } : {}),
      });
    }
    if (fault?.kind === "rate-limit") return send(throttled(state, fault.resetSeconds ?? 30, fault.retryAfterSeconds));
    if (fault?.kind === "delay") await sleep(fault.ms, signal);
    if (fault?.kind === "crash-after-create") crashAfter = true;
    if (signal.aborted) return;

    const isApi = path === "/v1" || path.startsWith("/v1/");
    const account = isApi ? authenticate(state, req.headers) : undefined;
    if (isApi && !account) return send(unauthenticated());
    if (account) record.account = account.username;
    const match = matchRoute(routes, method, path);
    if (!match) return send(notFound());
    if ("methodNotAllowed" in match) return send(problem(405, `Method "${method}" not allowed.`));

    let rateHeaders: Record<string, string> = {};
    if (match.route.auth && account) {
      const decision = limiter.take(account.username, match.route.bucket);
      if (!decision.allowed) return send(throttled(state, decision.resetSeconds));
      rateHeaders = decision.headers;
    }
    let body: unknown;
    if (rawBody.length && /json/i.test(contentType)) {
      try {
        body = JSON.parse(rawBody.toString("utf8"));
      } catch (err) {
        return send(problem(400, `JSON parse error - ${(err as Error).message}`), rateHeaders);
      }
    }

    tick(state, webhooks);
    const reply = await match.route.handler({
      state,
      method,
      path,
      params: match.params,
      query: url.searchParams,
      headers: req.headers,
      account: account!,
      body,
      rawBody,
      req,
      res,
      signal,
    });
    tick(state, webhooks);
    if (crashAfter) {
      record.status = reply.status;
      record.dropped = true;
      req.socket.destroy();
      return;
    }
    if (signal.aborted && state.closed) return;
    if (reply.stream) {
      record.status = reply.status;
      for (const [k, v] of Object.entries(rateHeaders)) res.setHeader(k, v);
      return reply.stream(res);
    }
    send(reply, rateHeaders);
  }

  return createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) return res.destroy();
      const reply = problem(500, `Emulator error: ${(err as Error)?.message ?? String(err)}`);
      res.writeHead(500, { "content-type": "application/problem+json" }).end(JSON.stringify(reply.json));
    });
  });
}

function write(res: ServerResponse, method: string, record: RecordedRequest, reply: Reply, extra: Record<string, string>): void {
  record.status = reply.status;
  if (res.destroyed) return;
  let payload: Buffer | undefined;
  let contentType = reply.contentType;
  if (reply.json !== undefined) {
    payload = Buffer.from(JSON.stringify(reply.json));
    contentType ??= "application/json";
  } else if (reply.bytes) {
    payload = reply.bytes;
    contentType ??= "application/octet-stream";
  }
  const headers: Record<string, string> = { ...extra };
  if (contentType) headers["content-type"] = contentType;
  for (const [name, value] of Object.entries(reply.headers ?? {})) headers[name.toLowerCase()] = value;
  headers["content-length"] = String(payload?.length ?? 0);
  res.writeHead(reply.status, headers);
  res.end(method === "HEAD" ? undefined : payload);
}

function summarizeBody(raw: Buffer, contentType: string): unknown {
  if (!raw.length) return undefined;
  const boundary = boundaryOf(contentType);
  if (boundary) {
    try {
      const parts = parseMultipart(raw, boundary);
      return {
        fields: Object.fromEntries(parts.filter((p) => p.filename === undefined).map((p) => [p.name, p.data.toString("utf8")])),
        files: parts
          .filter((p) => p.filename !== undefined)
          .map((p) => ({ name: p.name, filename: p.filename, size: p.data.length, sha256: createHash("sha256").update(p.data).digest("hex") })),
      };
    } catch {
      return { unparsedMultipart: raw.length };
    }
  }
  const text = raw.toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    return text.length > 10_000 ? `${text.slice(0, 10_000)}…` : text;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
