/** Plain-fetch helpers for the emulator's own tests. */
import type { Emulator } from "../support/emulator/index.js";
import { TRAINER_VERSION } from "../support/emulator/index.js";

export const TRAININGS_PATH = `/models/ostris/flux-dev-lora-trainer/versions/${TRAINER_VERSION}/trainings`;
export const HEX64 = /^[0-9a-f]{64}$/;

export interface CallResult {
  status: number;
  headers: Headers;
  contentType: string;
  text: string;
  json: any;
}

export async function call(
  emu: Pick<Emulator, "url" | "token">,
  method: string,
  path: string,
  /** `body` is sent as JSON (or as it is when FormData); `rawBody` as it is, with the caller's content-type. */
  opts: { body?: unknown; rawBody?: string; token?: string | null; headers?: Record<string, string> } = {},
): Promise<CallResult> {
  const headers: Record<string, string> = { ...opts.headers };
  const token = opts.token === undefined ? emu.token : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: RequestInit["body"] = opts.rawBody;
  if (opts.body instanceof FormData) body = opts.body;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers["content-type"] = "application/json";
  }
  const url = path.startsWith("http") ? path : `${emu.url}${path}`;
  const res = await fetch(url, { method, headers, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, contentType: res.headers.get("content-type") ?? "", text, json };
}

export async function createModel(emu: Emulator, name: string, visibility: "public" | "private" = "private"): Promise<string> {
  const res = await call(emu, "POST", "/models", { body: { owner: emu.owner, name, visibility, hardware: "gpu-h100" } });
  if (res.status !== 201) throw new Error(`model create: ${res.status} ${res.text}`);
  return `${emu.owner}/${name}`;
}

export async function createTraining(emu: Emulator, destination: string, input: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<CallResult> {
  return call(emu, "POST", TRAININGS_PATH, {
    body: { destination, input: { input_images: "https://example.com/images.zip", trigger_word: "useru1", steps: 1000, ...input }, ...extra },
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `fn` until it returns a truthy value or `ms` pass. */
export async function eventually<T>(fn: () => T | Promise<T>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(20);
  }
}
