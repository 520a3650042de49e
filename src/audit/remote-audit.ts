/**
 * The checks at Replicate (--remote), per user with a model row: the model exists and is private;
 * the active version exists under that very model and its input schema takes the locked input;
 * the latest succeeded training produced the stored version. A user whose checks could not all be
 * made is listed as unverified, with the error that stopped them.
 */
import { checkLockedInput, extractInputSchema } from "../generation/input-schema.js";
import type { ReplicateGateway } from "../replicate/index.js";
import { createRateWindow } from "./rate-window.js";
import { createRemoteCaller, RemoteCallError } from "./remote-calls.js";
import { lookUpTrainings, type TrainingLookup } from "./remote-trainings.js";
import type { RemoteTarget } from "./remote-work.js";
import type { AuditProgress, UnverifiedModel, Violation } from "./types.js";

export const DEFAULT_CONCURRENCY = 8;
/** 80% of Replicate's 3,000 a minute: a service on the same account keeps room for its calls. */
export const DEFAULT_RATE_PER_MINUTE = 2_400;

export interface RemoteAuditOptions {
  concurrency?: number;
  ratePerMinute?: number;
  onProgress?: (progress: AuditProgress) => void;
}

export interface RemoteAuditResult {
  /** Users whose every check was made. */
  checked: number;
  findings: Violation[];
  unverified: UnverifiedModel[];
}

const VERSION_ID = /^[0-9a-f]{64}$/;

function splitModelId(modelId: string): [string, string] | null {
  const parts = modelId.split("/");
  return parts.length === 2 && parts[0] && parts[1] ? [parts[0], parts[1]] : null;
}

export async function auditRemote(
  gateway: ReplicateGateway,
  targets: readonly RemoteTarget[],
  opts: RemoteAuditOptions = {},
): Promise<RemoteAuditResult> {
  const window = createRateWindow(opts.ratePerMinute ?? DEFAULT_RATE_PER_MINUTE);
  const caller = createRemoteCaller(window, opts.concurrency ?? DEFAULT_CONCURRENCY);
  const findings: Violation[] = [];
  const failed = new Map<string, UnverifiedModel>();
  const checkable = targets.filter((t) => splitModelId(t.modelId) !== null);
  const total = checkable.length;
  let done = 0;
  const fail = (t: RemoteTarget, err: unknown) => {
    if (!(err instanceof RemoteCallError)) throw err;
    if (!failed.has(t.userId)) failed.set(t.userId, { userId: t.userId, modelId: t.modelId, code: err.code, message: err.message });
  };

  // The trainings list is read while the models are checked; both share the window.
  const trainingIds = checkable.flatMap((t) => t.trainings.map((r) => r.replicateTrainingId));
  const trainingsPromise = lookUpTrainings(gateway, caller, window, trainingIds);
  trainingsPromise.catch(() => undefined);

  await caller.each(checkable, async (t) => {
    try {
      await checkModel(gateway, caller, t, findings);
    } catch (err) {
      fail(t, err);
    }
    opts.onProgress?.({ phase: "remote", done: ++done, total });
  });
  const trainings = await trainingsPromise;
  for (const t of checkable) {
    const error = judgeTrainings(t, trainings, findings);
    if (error) fail(t, new RemoteCallError(error.code, error.message));
  }

  const unverified = [...failed.values()].sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
  return { checked: checkable.length - unverified.length, findings, unverified };
}

async function checkModel(gateway: ReplicateGateway, caller: ReturnType<typeof createRemoteCaller>, t: RemoteTarget, findings: Violation[]) {
  const [owner, name] = splitModelId(t.modelId)!;
  const model = await caller.call(() => gateway.getModel(owner, name));
  if (!model) {
    // A user whose first training never reached Replicate has no model there yet, rightly.
    if (t.versionId !== null || t.started) {
      findings.push({ rule: "remote.model-missing", userId: t.userId, modelId: t.modelId, message: `Model ${t.modelId} does not exist on Replicate.` });
    }
    return;
  }
  if (model.visibility !== "private") {
    findings.push({
      rule: "remote.model-public",
      userId: t.userId,
      modelId: t.modelId,
      message: `Model ${t.modelId} is ${model.visibility} on Replicate: anyone can run it.`,
    });
  }
  if (t.versionId === null || !VERSION_ID.test(t.versionId)) return;
  const versionId = t.versionId;
  const version = await caller.call(() => gateway.getVersion(owner, name, versionId));
  const versionRef = `${t.modelId}:${versionId}`;
  if (!version) {
    findings.push({
      rule: "remote.version-missing",
      userId: t.userId,
      modelId: t.modelId,
      versionRef,
      message: `Version ${versionId} does not exist under ${t.modelId} on Replicate.`,
    });
    return;
  }
  const schema = extractInputSchema(version.openapi_schema);
  const problems = schema
    ? (() => {
        const check = checkLockedInput(schema, `user${t.userId}`, 0);
        return check.ok ? [] : check.problems;
      })()
    : ["it publishes no input schema (openapi_schema.components.schemas.Input)"];
  if (problems.length > 0) {
    findings.push({
      rule: "remote.version-inputs",
      userId: t.userId,
      modelId: t.modelId,
      versionRef,
      message: `Version ${versionRef} cannot take the locked input: ${problems.join("; ")}.`,
    });
  }
}

/**
 * The latest succeeded training among the candidates (newest first) must have produced the
 * stored version. Returns an error when a candidate could not be read.
 */
function judgeTrainings(
  t: RemoteTarget,
  lookups: Map<string, TrainingLookup>,
  findings: Violation[],
): { code: string; message: string } | null {
  const expected = t.versionId ? `${t.modelId}:${t.versionId}` : null;
  for (const ref of t.trainings) {
    const lookup = lookups.get(ref.replicateTrainingId);
    const base = { userId: t.userId, modelId: t.modelId, trainingId: ref.id, replicateTrainingId: ref.replicateTrainingId };
    if (!lookup) return { code: "REPLICATE_ERROR", message: `Training ${ref.replicateTrainingId} was not looked up.` };
    if ("error" in lookup) return { code: lookup.error.code, message: `Training ${ref.replicateTrainingId}: ${lookup.error.message}` };
    if ("missing" in lookup) {
      if (ref.status === "completed") {
        findings.push({
          rule: "remote.training-output",
          ...base,
          message: `Training ${ref.replicateTrainingId}, recorded as completed, does not exist on Replicate.`,
        });
        return null;
      }
      continue;
    }
    const remote = lookup.found;
    if (remote.status !== "succeeded") {
      if (ref.status === "completed") {
        findings.push({
          rule: "remote.training-output",
          ...base,
          message: `Training ${ref.replicateTrainingId} is recorded as completed but Replicate reports it ${remote.status}.`,
        });
        return null;
      }
      continue;
    }
    const output = remote.output?.version ?? null;
    if (ref.status !== "completed") {
      // Replicate finished it, but nobody asked since: the record is behind, not wrong. The fix
      // is to read it, and the message says so for this very user.
      findings.push({
        rule: "remote.training-output",
        ...base,
        ...(output ? { versionRef: output } : {}),
        message:
          `Training ${ref.replicateTrainingId} succeeded on Replicate${output ? ` with output ${output}` : ""}, but is recorded as ` +
          `"${ref.status}": its outcome was never read back${expected === null ? ", so no active version is recorded" : `, so the active version is still ${expected}`}. ` +
          `Run \`sselfie status --user ${t.userId}\` (or \`sselfie reconcile\`) to record it.`,
      });
      return null;
    }
    if (output !== expected) {
      findings.push({
        rule: "remote.training-output",
        ...base,
        ...(output ? { versionRef: output } : {}),
        message:
          expected === null
            ? `Training ${ref.replicateTrainingId} succeeded on Replicate with output ${output}, but no active version is recorded.`
            : `The latest succeeded training ${ref.replicateTrainingId} produced ${output}, not the stored version ${expected}.`,
      });
    }
    return null;
  }
  return null;
}
