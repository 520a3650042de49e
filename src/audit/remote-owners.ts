/**
 * `--remote` across owners: each user's model is checked with the token of the owner it lives
 * under (the owner part of its id, which is the user's recorded owner), each owner's trainings are
 * listed with its own token, and each owner gets its own rate window (Replicate limits each
 * account on its own). An owner whose token cannot be had leaves its users unverified.
 */
import type { SselfieContext } from "../context.js";
import { ConfigError } from "../errors.js";
import { modelOwner } from "../locked.js";
import { auditRemote, type RemoteAuditOptions, type RemoteAuditResult } from "./remote-audit.js";
import type { RemoteTarget } from "./remote-work.js";

export async function auditRemoteByOwner(
  ctx: SselfieContext,
  targets: readonly RemoteTarget[],
  opts: RemoteAuditOptions = {},
): Promise<RemoteAuditResult> {
  const groups = new Map<string, RemoteTarget[]>();
  for (const t of targets) {
    const owner = modelOwner(t.modelId);
    groups.set(owner, [...(groups.get(owner) ?? []), t]);
  }
  const total = targets.length;
  const doneBy = new Map<string, number>();
  const results = await Promise.all(
    [...groups].map(async ([owner, group]): Promise<RemoteAuditResult> => {
      let gateway;
      try {
        gateway = await ctx.gatewayForOwner(owner);
      } catch (err) {
        // A token that is not set is a configuration problem for the whole audit (exit 6).
        if (err instanceof ConfigError) throw err;
        const code = (err as { code?: string }).code ?? "ERROR";
        const message = err instanceof Error ? err.message : String(err);
        return { checked: 0, findings: [], unverified: group.map((t) => ({ userId: t.userId, modelId: t.modelId, code, message })) };
      }
      return auditRemote(gateway, group, {
        ...opts,
        onProgress: (p) => {
          doneBy.set(owner, p.done);
          opts.onProgress?.({ phase: "remote", done: [...doneBy.values()].reduce((a, b) => a + b, 0), total });
        },
      });
    }),
  );
  const byUser = (a: { userId: string }, b: { userId: string }) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0);
  return {
    checked: results.reduce((n, r) => n + r.checked, 0),
    findings: results.flatMap((r) => r.findings),
    unverified: results.flatMap((r) => r.unverified).sort(byUser),
  };
}
