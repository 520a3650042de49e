/**
 * `runAudit(ctx, options)`: the compliance gate. Reads only; the report says whether the locked
 * architecture holds in the data (and, with `remote`, at Replicate). `ok` is true only when no
 * rule was violated and every model could be checked.
 */
import type { SselfieContext } from "../context.js";
import { InvalidInputError, StateError } from "../errors.js";
import { hasAddedOwners, listOwnerRows } from "../db/owners.js";
import { validateUserId } from "../locked.js";
import { auditDatabase } from "./database-audit.js";
import { auditErasedModels, loadErasedModels, type ErasedModel } from "./erasure-checks.js";
import { configuredOwner, inferOwner } from "./owner.js";
import { DEFAULT_CONCURRENCY, DEFAULT_RATE_PER_MINUTE, type RemoteAuditResult } from "./remote-audit.js";
import { describeUnfinishedAtReplicate } from "./remote-generations.js";
import { auditRemoteByOwner } from "./remote-owners.js";
import { loadRemoteTargets, type RemoteTarget } from "./remote-work.js";
import { AUDIT_RULES } from "./rules.js";
import type { AuditOptions, AuditOwner, AuditReport, Violation } from "./types.js";

export const DEFAULT_MAX_PER_RULE = 1_000;

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new InvalidInputError(`${name} must be a positive whole number, got ${value}.`, { [name]: value });
  return value;
}

export function validateAuditOptions(options: AuditOptions = {}) {
  return {
    userId: options.userId === undefined ? null : validateUserId(options.userId),
    remote: options.remote === true,
    concurrency: positiveInteger("concurrency", options.concurrency, DEFAULT_CONCURRENCY),
    ratePerMinute: positiveInteger("ratePerMinute", options.ratePerMinute, DEFAULT_RATE_PER_MINUTE),
    maxPerRule: positiveInteger("maxPerRule", options.maxPerRule, DEFAULT_MAX_PER_RULE),
  };
}

export async function runAudit(ctx: SselfieContext, options: AuditOptions = {}): Promise<AuditReport> {
  const started = Date.now();
  const o = validateAuditOptions(options);
  const { db } = ctx;

  let owner: AuditOwner;
  // The implicit owner must be known to check its users at Replicate, unless owners were added
  // (then its users, if any, are checked with REPLICATE_API_TOKEN or left unverified).
  if (o.remote && !(await hasAddedOwners(db, db.s))) {
    owner = { name: await ctx.implicitOwner(), source: "configured" };
  } else {
    const configured = await configuredOwner(ctx);
    owner =
      "error" in configured
        ? await inferOwner(
            db,
            db.s,
            configured.error.code === "MISSING_REPLICATE_TOKEN"
              ? "neither REPLICATE_OWNER nor REPLICATE_API_TOKEN is set"
              : `the owner could not be read from Replicate (${configured.error.code})`,
          )
        : configured;
  }

  options.onProgress?.({ phase: "database", done: 0, total: 1 });
  let targets: RemoteTarget[] = [];
  const ownerRows = await listOwnerRows(db, db.s);
  const perUserOwner = ownerRows.some((r) => r.name !== owner.name);
  const configuredOwners = [...ownerRows.filter((r) => !r.implicit).map((r) => r.name), ...(owner.name === null ? [] : [owner.name])];
  const scope = { owner: owner.name, userId: o.userId, perUserOwner, configuredOwners };
  let erased: ErasedModel[] = [];
  const database = await auditDatabase(db, scope, { maxPerRule: o.maxPerRule }, async (tx) => {
    if (o.remote) {
      targets = await loadRemoteTargets(tx, db.s, o.userId);
      erased = await loadErasedModels(tx, db.s, o.userId);
    }
  });
  options.onProgress?.({ phase: "database", done: 1, total: 1 });

  const nothingFound = database.counts.size === 0;
  if (o.userId !== null && database.checked.users === 0 && nothingFound && targets.length === 0 && database.erasures === 0) {
    throw new StateError("USER_NOT_FOUND", `There is no user ${o.userId} in the database: nothing to audit. Check the id.`, {
      userId: o.userId,
    });
  }

  let remote: RemoteAuditResult | undefined;
  if (o.remote && targets.length > 0) {
    remote = await auditRemoteByOwner(ctx, targets, {
      concurrency: o.concurrency,
      ratePerMinute: o.ratePerMinute,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  }

  const erasedFindings = o.remote && erased.length > 0 ? await auditErasedModels((owner) => ctx.gatewayForOwner(owner), erased) : [];

  const counts = new Map(database.counts);
  const listed: Violation[] = database.listed.map(({ rule, userId, message, ...rest }) => ({ rule, userId, message, ...rest }) as Violation);
  if (o.remote) await describeUnfinishedAtReplicate(ctx, listed);
  const remoteFindings: Violation[] = [
    ...(remote?.findings ?? []),
    ...erasedFindings,
    ...(remote?.unverified ?? []).map((u) => ({
      rule: "remote.unverified",
      userId: u.userId,
      modelId: u.modelId,
      message: `Model ${u.modelId} could not be checked at Replicate (${u.code}): ${u.message}`,
    })),
  ];
  for (const f of remoteFindings) counts.set(f.rule, (counts.get(f.rule) ?? 0) + 1);
  listed.push(...capPerRule(sortFindings(remoteFindings), o.maxPerRule));

  const ruleOrder = new Map(AUDIT_RULES.map((r, i) => [r.id, i]));
  const violations = listed.sort((a, b) => (ruleOrder.get(a.rule) ?? 99) - (ruleOrder.get(b.rule) ?? 99));
  const orderedCounts = Object.fromEntries([...counts].sort(([a], [b]) => (ruleOrder.get(a) ?? 99) - (ruleOrder.get(b) ?? 99)));
  const truncated = [...counts].some(([rule, n]) => n > violations.filter((v) => v.rule === rule).length);

  return {
    ok: counts.size === 0,
    checked: { ...database.checked, ...(o.remote ? { remoteModels: remote?.checked ?? 0 } : {}) },
    violations,
    counts: orderedCounts,
    truncated,
    unverified: remote?.unverified ?? [],
    owner,
    scope: { userId: o.userId, remote: o.remote },
    durationMs: Date.now() - started,
  };
}

function sortFindings(findings: Violation[]): Violation[] {
  return [...findings].sort((a, b) => (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
}

function capPerRule(findings: Violation[], cap: number): Violation[] {
  const seen = new Map<string, number>();
  return findings.filter((f) => {
    const n = (seen.get(f.rule) ?? 0) + 1;
    seen.set(f.rule, n);
    return n <= cap;
  });
}
