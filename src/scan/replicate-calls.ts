/**
 * Which calls create a Replicate prediction or run: the official client (`run`, `stream`,
 * `predictions.create`, `deployments.predictions.create`, `models.predictions.create`) and HTTP
 * (`fetch`, or an axios/got-style `.post`) to api.replicate.com's prediction endpoints. Reading
 * (`predictions.get/list/cancel`, `wait`, a GET) is not creating.
 */
import { keyName, unwrap, type AstNode, type FileFacts } from "./ast.js";
import { evaluate, findProperty, resolve, stringShape } from "./static-value.js";

export interface CreationCall {
  call: AstNode;
  /** How it calls Replicate, for messages: `replicate.run`, `fetch POST /v1/predictions`, ... */
  via: string;
  /** Expressions naming the model or version (`run`'s ref, `version`, `model`, deployment owner). */
  refs: AstNode[];
  /**
   * A model or deployment named apart from a ref: in the URL's path (`/v1/models/o/n/predictions`)
   * or as constant `(owner, name)` arguments of `deployments.predictions.create`.
   */
  fixed: { node: AstNode; name: string } | null;
  /** The prediction's `input` expression, when there is one. */
  input: AstNode | null;
}

const PREDICTIONS_URL =
  /^(?:https?:\/\/)?api\.replicate\.com\/v1\/(?:(models|deployments)\/([^/?#]+)\/([^/?#]+)\/)?predictions\/?(?:[?#].*)?$/;

/** `a.b.c.d` -> base `a`, names `[b, c, d]` (non-computed members only). */
function memberPath(callee: AstNode): { base: AstNode; names: string[] } {
  const names: string[] = [];
  let n: AstNode = callee;
  for (;;) {
    n = unwrap(n) ?? n;
    if (n.type !== "MemberExpression") break;
    const name = keyName(n.property, n.computed);
    if (name === null) break;
    names.unshift(name);
    n = n.object;
  }
  return { base: n, names };
}

/** `replicate`, `replicateClient`, `this.replicate`, `getReplicate()`: not `replicatedRows.run`. */
const REPLICATE_NAME = /replicate(?:client|api)?$/i;

function isClient(receiver: AstNode, facts: FileFacts): boolean {
  const r = unwrap(receiver);
  if (!r) return false;
  if (r.type === "Identifier") return facts.clientNames.has(r.name) || REPLICATE_NAME.test(r.name);
  if (r.type === "MemberExpression") {
    const name = keyName(r.property, r.computed);
    return name !== null && (facts.clientNames.has(name) || REPLICATE_NAME.test(name));
  }
  if (r.type === "NewExpression") return r.callee.type === "Identifier" && facts.clientClasses.has(r.callee.name);
  if (r.type === "CallExpression") {
    const callee = unwrap(r.callee);
    const name = callee?.type === "Identifier" ? callee.name : callee?.type === "MemberExpression" ? keyName(callee.property, callee.computed) : null;
    return name !== null && REPLICATE_NAME.test(name);
  }
  return false;
}

function optionsProperty(options: AstNode | undefined, name: string, facts: FileFacts): AstNode | null {
  if (!options) return null;
  const v = evaluate(options, facts.bindings);
  if (v.kind !== "object") return null;
  return findProperty(v.node, name, facts.bindings)?.value ?? null;
}

function describe(base: AstNode, names: string[]): string {
  const b = unwrap(base);
  const head = b?.type === "Identifier" ? b.name : b?.type === "ThisExpression" ? "this" : "client";
  return [head, ...names].join(".");
}

/** The client's creating methods. */
function clientCall(call: AstNode, facts: FileFacts): CreationCall | null {
  const { base, names } = memberPath(call.callee);
  const args: AstNode[] = call.arguments;
  const last = names[names.length - 1];
  const via = describe(base, names);
  if (last === "create" && names[names.length - 2] === "predictions") {
    const parent = names[names.length - 3];
    if (parent === "deployments" || parent === "models") {
      // (owner, name, options), or ("owner/name", options)
      const first = args[0] ? evaluate(args[0], facts.bindings) : null;
      const joined = first?.kind === "literal" && typeof first.value === "string" && first.value.includes("/");
      const options = joined ? args[1] : args[2];
      const second = !joined && args[1] ? evaluate(args[1], facts.bindings) : null;
      const fixed =
        first?.kind === "literal" && second?.kind === "literal" ? { node: first.node, name: `${first.value}/${second.value}` } : null;
      return { call, via, refs: joined ? [args[0]!] : [], fixed, input: optionsProperty(options, "input", facts) };
    }
    const refs = ["version", "model"].map((k) => optionsProperty(args[0], k, facts)).filter((n): n is AstNode => n !== null);
    return { call, via, refs, fixed: null, input: optionsProperty(args[0], "input", facts) };
  }
  if ((last === "run" || last === "stream") && names.length >= 1) {
    const receiver = unwrap(call.callee)!.object as AstNode;
    if (!isClient(receiver, facts) || !args[0]) return null;
    return { call, via, refs: [args[0]], fixed: null, input: optionsProperty(args[1], "input", facts) };
  }
  return null;
}

function httpCall(call: AstNode, facts: FileFacts): CreationCall | null {
  const callee = unwrap(call.callee);
  if (!callee) return null;
  const args: AstNode[] = call.arguments;
  const isFetch =
    (callee.type === "Identifier" && callee.name === "fetch") ||
    (callee.type === "MemberExpression" && keyName(callee.property, callee.computed) === "fetch");
  const isPost = callee.type === "MemberExpression" && keyName(callee.property, callee.computed) === "post";
  if ((!isFetch && !isPost) || !args[0]) return null;
  const url = stringShape(args[0], facts.bindings);
  const m = PREDICTIONS_URL.exec(url);
  if (!m) return null;
  let body: AstNode | null = null;
  if (isFetch) {
    const init = args[1] ? evaluate(args[1], facts.bindings) : null;
    if (!init) return null; // a GET: listing predictions
    if (init.kind === "object") {
      const method = optionsProperty(init.node, "method", facts);
      const methodValue = method ? evaluate(method, facts.bindings) : null;
      const bodyNode = optionsProperty(init.node, "body", facts);
      if (methodValue?.kind === "literal" ? String(methodValue.value).toUpperCase() !== "POST" : !bodyNode) return null;
      body = bodyNode ? jsonArgument(bodyNode, facts) : null;
    }
  } else {
    body = args[1] ?? null;
    const json = body ? optionsProperty(body, "json", facts) : null;
    if (json) body = json;
  }
  const fixed = m[1] !== undefined && !m[2]!.includes("\0") && !m[3]!.includes("\0");
  const refs = body ? ["version", "model"].map((k) => optionsProperty(body!, k, facts)).filter((n): n is AstNode => n !== null) : [];
  const path = m[1] ? `/v1/${m[1]}/${m[2]!.replace(/\0/g, "…")}/${m[3]!.replace(/\0/g, "…")}/predictions` : "/v1/predictions";
  return {
    call,
    via: `${isFetch ? "fetch" : "POST"} ${path}`,
    refs,
    fixed: fixed ? { node: resolve(args[0], facts.bindings), name: `${m[2]}/${m[3]}` } : null,
    input: body ? optionsProperty(body, "input", facts) : null,
  };
}

/** `JSON.stringify(x)` -> x; anything else stays as it is. */
function jsonArgument(node: AstNode, facts: FileFacts): AstNode {
  const n = resolve(node, facts.bindings);
  if (n.type === "CallExpression") {
    const { base, names } = memberPath(n.callee);
    if (base.type === "Identifier" && base.name === "JSON" && names.join(".") === "stringify" && n.arguments[0]) return n.arguments[0];
  }
  return n;
}

export function creationCall(call: AstNode, facts: FileFacts): CreationCall | null {
  return clientCall(call, facts) ?? httpCall(call, facts);
}
