/**
 * Every request recorded against the real api.replicate.com (test/fixtures/replicate-cassettes/) is
 * sent to the emulator; its answer must have the recorded status, content type, rate-limit headers
 * and body keys. Every recorded body must also parse with the gateway's own schemas, so that the
 * gateway accepts what the real API sends and not only what the emulator sends.
 *
 * The emulator holds the world the recordings imply: the models and versions they read exist, the
 * destination they train into belongs to the caller. Three translations, no more: the recordings
 * train with an old trainer (the emulator has only ostris/flux-dev-lora-trainer, so the trainer
 * part of the path is swapped), recorded ids become the emulator's ids of the same objects, and an
 * object a cassette reads without creating is created first and brought to its recorded status.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorFromStatus } from "../../src/replicate/error-mapping.js";
import { FileObjectSchema, ModelSchema, PageSchema, PredictionSchema, TrainingSchema, VersionSchema } from "../../src/replicate/schemas.js";
import { type Emulator, startEmulator, TRAINER_MODEL, TRAINER_VERSION } from "../support/emulator/index.js";
import { loadCassettes, type Recorded } from "./cassettes.js";
import { spec } from "./contract.js";
import { call, type CallResult } from "./helpers.js";

const cassettes = loadCassettes();
const all = cassettes.flatMap((c) => c.interactions);

const ACCOUNTS = [
  { token: "r8-replay-replicate", username: "replicate" },
  { token: "r8-replay-test", username: "test" },
];
/** Who each recording acted as (its request bodies name the owner); the rest act as "replicate". */
const ACTING_AS: Record<string, string> = { "models-create.yaml": "test" };
/** The recorded token was refused; any token the emulator does not know is. */
const BAD_TOKEN_CASSETTES = new Set(["run__invalid-token.yaml"]);
/** Recorded requests the emulator deliberately does not serve (sselfie never calls them): it must say 404. */
const NOT_EMULATED: Record<string, string> = {
  "predictions-cancel.yaml#0": "official models' POST /models/{owner}/{name}/predictions; sselfie only runs versions",
};

type Kind = "model" | "version" | "prediction" | "prediction-created" | "training" | "training-created" | "file" | "file-list" | "problem" | "none";

function kindOf(r: Recorded): Kind {
  if (r.status >= 400) return "problem";
  if (r.status === 204) return "none";
  const p = r.path;
  if (/^\/models\/[^/]+\/[^/]+\/versions\/[^/]+\/trainings$/.test(p)) return "training-created";
  if (/^\/models\/[^/]+\/[^/]+\/versions\/[^/]+$/.test(p)) return "version";
  if (/^\/models(\/[^/]+\/[^/]+)?$/.test(p)) return "model";
  if (/^\/models\/[^/]+\/[^/]+\/predictions$/.test(p) || (p === "/predictions" && r.method === "POST")) return "prediction-created";
  if (/^\/predictions\/[^/]+(\/cancel)?$/.test(p)) return "prediction";
  if (/^\/trainings\/[^/]+(\/cancel)?$/.test(p)) return "training";
  if (p === "/files" && r.method === "GET") return "file-list";
  if (/^\/files(\/[^/]+)?$/.test(p)) return "file";
  throw new Error(`${r.cassette}#${r.index}: no kind for ${r.method} ${p}`);
}

/** Keys a kind may carry beyond the recording: those the published spec declares for it. */
const SPEC_SCHEMA: Partial<Record<Kind, string>> = {
  model: "schemas_model_response",
  version: "schemas_version_response",
  prediction: "schemas_prediction_response",
  training: "schemas_training_response",
  file: "schemas_file_response",
};
function specKeys(kind: Kind, nested?: "urls"): string[] {
  const name = SPEC_SCHEMA[kind];
  if (!name) return [];
  const props = spec.components.schemas[name].properties ?? {};
  return Object.keys(nested ? (props[nested]?.properties ?? {}) : props);
}

/** Which recorded bodies parse with which gateway schema (problems go through the error mapping). */
const GATEWAY_SCHEMA = {
  model: ModelSchema,
  version: VersionSchema,
  prediction: PredictionSchema,
  "prediction-created": PredictionSchema,
  training: TrainingSchema,
  "training-created": TrainingSchema,
  file: FileObjectSchema,
  "file-list": PageSchema(FileObjectSchema),
} as const;

const keys = (v: unknown) => (v && typeof v === "object" ? Object.keys(v).sort() : []);
type Part = "body" | "urls" | "item";
const partOf = (json: unknown, part: Part): unknown =>
  part === "body" ? json : part === "urls" ? (json as { urls?: unknown })?.urls : (json as { results?: unknown[] })?.results?.[0];

/**
 * Recordings of one kind differ a little (two years apart): a key in every recording of a kind is
 * required; a key is allowed when some recording of that kind has it or, except for the short
 * create answers and problems, when the published spec declares it.
 */
function keyRules(kind: Kind, part: Part): { required: string[]; allowed: string[] } {
  const seen = all.filter((r) => kindOf(r) === kind).map((r) => keys(partOf(r.json, part))).filter((k) => k.length);
  const required = seen.reduce((acc, k) => acc.filter((x) => k.includes(x)), seen[0] ?? []);
  const exact = kind === "prediction-created" || kind === "training-created" || kind === "problem";
  const specKind: Kind = part === "item" ? "file" : kind;
  const fromSpec = exact ? [] : specKeys(specKind, part === "urls" ? "urls" : undefined);
  return { required, allowed: [...new Set([...seen.flat(), ...fromSpec])] };
}

function expectSameKeys(recorded: unknown, emulated: unknown, kind: Kind, where: string): void {
  const parts: Part[] = kind === "file-list" ? ["body", "item"] : ["body", "urls"];
  for (const part of parts) {
    const rec = partOf(recorded, part);
    const emu = partOf(emulated, part);
    if (rec === undefined || (part === "item" && emu === undefined)) continue;
    const { required, allowed } = keyRules(kind, part);
    const missing = required.filter((k) => !keys(emu).includes(k));
    const extra = keys(emu).filter((k) => !allowed.includes(k));
    expect({ where: `${where} ${part}`, missing, extra }).toEqual({ where: `${where} ${part}`, missing: [], extra: [] });
  }
}

describe("recorded exchanges with api.replicate.com", () => {
  it("the fixtures hold every cassette, each interaction readable", () => {
    expect(cassettes.map((c) => c.name)).toEqual([
      "file-operations.yaml",
      "models-create.yaml",
      "models-get.yaml",
      "predictions-cancel.yaml",
      "predictions-create.yaml",
      "predictions-get.yaml",
      "run__invalid-token.yaml",
      "trainings-cancel.yaml",
      "trainings-create.yaml",
      "trainings-create__invalid-destination.yaml",
      "trainings-get.yaml",
    ]);
    expect(all.length).toBe(25);
    for (const r of all) if (r.status !== 204) expect(r.json, `${r.cassette}#${r.index}`).toBeDefined();
  });

  it("the recorded file list is ordered by id", () => {
    const lists = all.filter((r) => kindOf(r) === "file-list").map((r) => (r.json as { results: { id: string }[] }).results.map((f) => f.id));
    expect(lists.length).toBe(2);
    for (const ids of lists) {
      expect(ids.length).toBeGreaterThan(10);
      expect(ids).toEqual([...ids].sort());
    }
  });

  it("every recorded body parses with the gateway's schemas (problems map to a typed error)", () => {
    for (const r of all) {
      const kind = kindOf(r);
      const where = `${r.cassette}#${r.index}`;
      if (kind === "problem") {
        const err = errorFromStatus((s) => s, r.status, r.body, { method: r.method, path: r.path });
        expect(err.detail, where).toBe((r.json as { detail: string }).detail);
        expect(err.code, where).toBe(r.status === 401 ? "REPLICATE_UNAUTHORIZED" : "REPLICATE_NOT_FOUND");
        continue;
      }
      if (kind === "none") continue;
      const parsed = GATEWAY_SCHEMA[kind].safeParse(r.json);
      expect(parsed.error?.issues ?? [], where).toEqual([]);
    }
  });
});

describe("the emulator answers every recorded request as recorded", () => {
  let emu: Emulator;
  beforeAll(async () => {
    // Long timelines on the emulator clock, so nothing moves on its own while a cassette replays.
    emu = await startEmulator({ accounts: ACCOUNTS, training: { startingMs: STARTING_MS, processingMs: 3_600_000 }, prediction: { durationMs: PREDICTION_MS } });
    plantRecordedWorld(emu);
  });
  afterAll(() => emu.close());

  for (const { name, interactions } of cassettes) {
    it(name, async () => {
      const ids = new Map<string, string>();
      const token = BAD_TOKEN_CASSETTES.has(name) ? "r8_not-a-real-token" : ACCOUNTS.find((a) => a.username === (ACTING_AS[name] ?? "replicate"))!.token;
      const as = { url: emu.url, token };
      for (const r of interactions) {
        const where = `${name}#${r.index} ${r.method} ${r.path}`;
        await standInForUnknownIds(emu, as, r, ids);
        const res = await replay(as, r, ids);
        if (NOT_EMULATED[`${name}#${r.index}`]) {
          expect(res.status, where).toBe(404);
          continue;
        }
        expect(res.status, where).toBe(r.status);
        learnIds(r.json, res.json, ids);
        expectSameHeaders(r, res, where);
        const kind = kindOf(r);
        if (kind !== "none") expectSameKeys(r.json, res.json, kind, where);
        if ((kind === "prediction" || kind === "training") && r.status === 200) {
          expect((res.json as { status: string }).status, where).toBe((r.json as { status: string }).status);
        }
      }
    });
  }
});

function expectSameHeaders(r: Recorded, res: CallResult, where: string): void {
  const media = (v: string | null | undefined) => (v ?? "").split(";")[0]!.trim().toLowerCase();
  if (r.status !== 204) expect(media(res.contentType), where).toBe(media(r.headers["content-type"]));
  const remaining = res.headers.get("ratelimit-remaining");
  if (r.headers["ratelimit-remaining"] === undefined) {
    expect({ where, remaining }).toEqual({ where, remaining: null });
  } else {
    // Same bucket: a recorded first call shows its size minus one (599, 2999, 59999).
    const recorded = Number(r.headers["ratelimit-remaining"]);
    expect(Number(remaining), where).toBeLessThanOrEqual(recorded);
    expect(Number(remaining), where).toBeGreaterThan(recorded - 50);
  }
  expect(res.headers.get("ratelimit-reset"), where).toBe(r.headers["ratelimit-reset"] ?? null);
  expect(res.headers.get("retry-after"), where).toBe(r.headers["retry-after"] ?? null);
}

/** The models and versions the recordings read exist; the destination they train into is the caller's. */
function plantRecordedWorld(emu: Emulator): void {
  const ensure = (id: string, visibility: "public" | "private") => emu.models.get(id) ?? emu.createModel(id, { visibility });
  for (const r of all) {
    if (r.status !== 200 || r.method !== "GET") continue;
    const model = /^\/models\/([^/]+\/[^/]+)$/.exec(r.path);
    if (model) ensure(model[1]!, (r.json as { visibility: "public" | "private" }).visibility);
    const version = /^\/models\/([^/]+\/[^/]+)\/versions\/([0-9a-f]{64})$/.exec(r.path);
    if (version) {
      ensure(version[1]!, "public");
      if (!emu.models.get(version[1]!)!.versions.has(version[2]!)) {
        emu.createVersion(version[1]!, { id: version[2]!, openapiSchema: (r.json as { openapi_schema: object }).openapi_schema });
      }
    }
  }
  for (const r of all) {
    if (kindOf(r) !== "training-created" || r.status !== 201) continue;
    const { destination } = JSON.parse(r.requestBody) as { destination: string };
    ensure(destination, "private");
  }
}

const STARTING_MS = 60_000;
const PREDICTION_MS = 60_000;
const JOB_ID = /^\/(predictions|trainings)\/([a-z0-9]{26})(\/cancel)?$/;

function translate(r: Recorded, ids: Map<string, string>): string {
  let path = r.path.replace(/^\/models\/[^/]+\/[^/]+\/versions\/[^/]+\/trainings$/, `/models/${TRAINER_MODEL}/versions/${TRAINER_VERSION}/trainings`);
  for (const [recorded, emulated] of ids) path = path.split(recorded).join(emulated);
  return path;
}

function replay(as: { url: string; token: string }, r: Recorded, ids: Map<string, string>): Promise<CallResult> {
  return call(as, r.method, translate(r, ids), {
    ...(r.requestBody ? { rawBody: r.requestBody } : {}),
    ...(r.requestContentType ? { headers: { "content-type": r.requestContentType } } : {}),
  });
}

function learnIds(recorded: unknown, emulated: unknown, ids: Map<string, string>): void {
  const idOf = (v: unknown) => (v && typeof v === "object" ? (v as { id?: unknown }).id : undefined);
  const rec = idOf(recorded);
  const got = idOf(emulated);
  if (typeof rec === "string" && typeof got === "string" && rec !== got) ids.set(rec, got);
}

/**
 * A cassette that reads a prediction or training it did not create: create the same one (same
 * version and input) through the API and bring it to the recorded status on the emulator clock.
 */
async function standInForUnknownIds(emu: Emulator, as: { url: string; token: string }, r: Recorded, ids: Map<string, string>): Promise<void> {
  const m = JOB_ID.exec(r.path);
  if (!m || ids.has(m[2]!) || r.status >= 400) return;
  const recorded = r.json as { version: string; input: Record<string, unknown>; status: string };
  if (m[1] === "predictions") {
    const created = await call(as, "POST", "/predictions", { body: { version: recorded.version, input: recorded.input } });
    expect(created.status).toBe(201);
    ids.set(m[2]!, created.json.id);
  } else {
    const destination = [...emu.models.values()].find((model) => model.owner === "replicate" && model.visibility === "private")!;
    const path = `/models/${TRAINER_MODEL}/versions/${TRAINER_VERSION}/trainings`;
    const created = await call(as, "POST", path, { body: { destination: `${destination.owner}/${destination.name}`, input: recorded.input } });
    expect(created.status).toBe(201);
    ids.set(m[2]!, created.json.id);
  }
  // Recorded: a processing training, a succeeded prediction.
  if (recorded.status !== "starting") emu.advance(m[1] === "predictions" ? PREDICTION_MS : STARTING_MS);
}
