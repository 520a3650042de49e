/** Models and versions: state operations, their JSON, and the /models, /account and secret handlers. */
import { isoMicros } from "./clock.js";
import { json, isPlainObject, notFound, problem, type Reply } from "./http-util.js";
import { versionId as newVersionId } from "./ids.js";
import { paginate } from "./pagination.js";
import type { Ctx } from "./router.js";
import { trainedModelOpenApi } from "./schemas.js";
import { apiUrl, assignSeq, type State } from "./state.js";
import type { EmulatedModel, EmulatedVersion, JsonSchema, OpenApiSchema } from "./types.js";

export const HARDWARE = ["cpu", "gpu-t4", "gpu-l40s", "gpu-l40s-2x", "gpu-a100-large", "gpu-a100-large-2x", "gpu-h100"];
/** Docker repository rules: lower-case a-z 0-9 . _ -, starting and ending alphanumeric. */
const MODEL_NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

export function putModel(
  state: State,
  owner: string,
  name: string,
  opts: { visibility?: "public" | "private"; hardware?: string; description?: string | null } = {},
): EmulatedModel {
  const model: EmulatedModel = {
    owner,
    name,
    description: opts.description ?? null,
    visibility: opts.visibility ?? "private",
    hardware: opts.hardware ?? "cpu",
    created_at: isoMicros(state.clock.now()),
    run_count: 0,
    versions: new Map(),
    latest_version: null,
  };
  state.models.set(`${owner}/${name}`, model);
  assignSeq(state, model);
  return model;
}

export function addVersion(state: State, model: EmulatedModel, openapi: OpenApiSchema, id = newVersionId(), at = state.clock.now()): EmulatedVersion {
  const version: EmulatedVersion = { id, created_at: isoMicros(at), cog_version: "0.16.9", openapi_schema: openapi };
  model.versions.set(id, version);
  assignSeq(state, version);
  model.latest_version = version;
  return version;
}

export function removeVersion(model: EmulatedModel, id: string): void {
  model.versions.delete(id);
  if (model.latest_version?.id === id) model.latest_version = [...model.versions.values()].at(-1) ?? null;
}

export function requireModel(state: State, modelId: string): EmulatedModel {
  const model = state.models.get(modelId);
  if (!model) throw new Error(`emulator has no model ${modelId}`);
  return model;
}

export function plantVersion(state: State, modelId: string, opts: { inputSchema?: object; id?: string; openapiSchema?: object } = {}): string {
  const openapi = (opts.openapiSchema as OpenApiSchema | undefined) ?? trainedModelOpenApi(opts.inputSchema as JsonSchema | undefined);
  return addVersion(state, requireModel(state, modelId), openapi, opts.id).id;
}

/** A model the caller may see: public, or owned by the caller. */
export function visibleModel(state: State, account: string, modelId: string): EmulatedModel | undefined {
  const model = state.models.get(modelId);
  return model && (model.visibility === "public" || model.owner === account) ? model : undefined;
}

export function renderVersion(version: EmulatedVersion): Record<string, unknown> {
  return { id: version.id, created_at: version.created_at, cog_version: version.cog_version, openapi_schema: version.openapi_schema };
}

export function renderModel(state: State, model: EmulatedModel): Record<string, unknown> {
  return {
    url: `${state.origin}/${model.owner}/${model.name}`,
    owner: model.owner,
    name: model.name,
    description: model.description,
    visibility: model.visibility,
    github_url: null,
    paper_url: null,
    license_url: null,
    run_count: model.run_count,
    cover_image_url: null,
    created_at: model.created_at,
    default_example: null,
    is_official: false,
    latest_version: model.latest_version ? renderVersion(model.latest_version) : null,
  };
}

export function createModelHandler(ctx: Ctx): Reply {
  const { state, account, body } = ctx;
  if (!isPlainObject(body)) return problem(400, "The request body must be a JSON object.");
  for (const field of ["owner", "name", "visibility", "hardware"]) {
    if (typeof body[field] !== "string" || body[field] === "") return problem(400, `${field}: This field is required.`);
  }
  const { owner, name, visibility, hardware } = body as Record<string, string>;
  if (owner !== account.username) {
    return problem(403, `You do not have permission to create models for the owner "${owner}".`, { title: "Forbidden" });
  }
  if (!MODEL_NAME.test(name!) || name!.length > 100) {
    return problem(400, "name: Model names may contain only lowercase letters, numbers, dashes, underscores and periods, and must start and end with a letter or number.");
  }
  if (visibility !== "public" && visibility !== "private") return problem(400, `visibility: "${visibility}" is not a valid choice.`);
  if (!HARDWARE.includes(hardware!)) return problem(400, `hardware: "${hardware}" is not a valid choice.`);
  if (state.models.has(`${owner}/${name}`)) {
    return problem(409, "A model with that name and owner already exists.", { title: "Conflict" });
  }
  const owned = [...state.models.values()].filter((m) => m.owner === owner).length;
  const cap = account.maxModels ?? state.options.maxModelsPerAccount;
  if (owned >= cap) {
    return problem(400, `You have reached the limit of ${cap} models per account.`);
  }
  const description = typeof body.description === "string" ? body.description : null;
  const model = putModel(state, owner, name!, { visibility, hardware: hardware!, description });
  return json(201, renderModel(state, model));
}

export function getModelHandler(ctx: Ctx): Reply {
  const [owner, name] = ctx.params;
  const model = visibleModel(ctx.state, ctx.account.username, `${owner}/${name}`);
  return model ? json(200, renderModel(ctx.state, model)) : notFound();
}

export function listVersionsHandler(ctx: Ctx): Reply {
  const [owner, name] = ctx.params;
  purgeDeletedVersions(ctx.state);
  const model = visibleModel(ctx.state, ctx.account.username, `${owner}/${name}`);
  if (!model) return notFound();
  const page = paginate(ctx.state, model.versions.values(), ctx.query.get("cursor") ?? undefined, apiUrl(ctx.state, `/models/${owner}/${name}/versions`));
  if (!page) return problem(400, "Invalid cursor");
  return json(200, { ...page, results: page.results.map(renderVersion) });
}

export function getVersionHandler(ctx: Ctx): Reply {
  const [owner, name, id] = ctx.params;
  purgeDeletedVersions(ctx.state);
  const version = visibleModel(ctx.state, ctx.account.username, `${owner}/${name}`)?.versions.get(id!);
  return version ? json(200, renderVersion(version)) : notFound();
}

export function accountHandler(ctx: Ctx): Reply {
  const { account } = ctx;
  return json(200, { type: account.type, username: account.username, name: account.name, github_url: `https://github.com/${account.username}` });
}

export function webhookSecretHandler(ctx: Ctx): Reply {
  return json(200, { key: ctx.account.webhookSecret });
}

/** A model the caller owns, or the reply to give instead (404 for another owner's model, as Replicate hides them). */
function ownModel(ctx: Ctx): EmulatedModel | Reply {
  const [owner, name] = ctx.params;
  const model = visibleModel(ctx.state, ctx.account.username, `${owner}/${name}`);
  if (!model) return notFound();
  if (model.owner !== ctx.account.username) {
    return problem(403, "You do not have permission to delete this model.", { title: "Forbidden" });
  }
  return model;
}

/**
 * DELETE /models/{o}/{n}/versions/{id}: 202 with an empty body; the version is still listed for
 * `versionDeleteMs`, then goes with every prediction made with it (and their outputs).
 */
export function deleteVersionHandler(ctx: Ctx): Reply {
  const model = ownModel(ctx);
  if (!("versions" in model)) return model;
  const version = model.versions.get(ctx.params[2]!);
  if (!version) return notFound();
  if (model.visibility !== "private") return problem(400, "You can only delete versions from private models.");
  version.deleteAt ??= ctx.state.clock.now() + ctx.state.options.versionDeleteMs;
  purgeDeletedVersions(ctx.state);
  return { status: 202 };
}

/**
 * DELETE /models/{o}/{n}: 204 when the model is private and has no versions left. The spec says a
 * model with versions cannot be deleted but not with which answer; the emulator's choice is a 409
 * problem whose detail says to delete the versions first.
 */
export function deleteModelHandler(ctx: Ctx): Reply {
  const model = ownModel(ctx);
  if (!("versions" in model)) return model;
  purgeDeletedVersions(ctx.state);
  if (model.visibility !== "private") return problem(400, "You can only delete private models.");
  if (model.versions.size > 0) {
    return problem(409, "Cannot delete a model that has versions. Delete the model's versions first.", { title: "Conflict" });
  }
  ctx.state.models.delete(`${model.owner}/${model.name}`);
  return { status: 204 };
}

/** Removes the versions whose deletion time came, with their predictions. */
export function purgeDeletedVersions(state: State): void {
  const now = state.clock.now();
  for (const model of state.models.values()) {
    for (const version of [...model.versions.values()]) {
      if (version.deleteAt === undefined || version.deleteAt > now) continue;
      removeVersion(model, version.id);
      const ref = `${model.owner}/${model.name}:${version.id}`;
      for (const [id, p] of state.predictions) if (p.versionRef === ref) state.predictions.delete(id);
    }
  }
}
