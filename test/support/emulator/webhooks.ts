/**
 * Webhook deliveries signed as Replicate (Svix) signs them: `webhook-id`, `webhook-timestamp`
 * (Unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>`, the
 * key being the base64-decoded part of the secret after `whsec_`. Failed deliveries are retried
 * with the same webhook-id; redirects are not followed.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { webhookMessageId } from "./ids.js";
import type { State } from "./state.js";
import type { WebhookEvent, WebhookRule } from "./types.js";

export function signWebhook(secret: string, id: string, timestamp: number | string, body: string): string {
  const key = Buffer.from(secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret, "base64");
  const digest = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
  return `v1,${digest}`;
}

/** True when any `v1,` signature in the header matches; compares in constant time. */
export function verifyWebhook(secret: string, id: string, timestamp: number | string, body: string, header: string): boolean {
  const expected = Buffer.from(signWebhook(secret, id, timestamp, body));
  return header.split(" ").some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

export const ALL_EVENTS: WebhookEvent[] = ["start", "output", "logs", "completed"];

interface Job {
  id: string;
  account: string;
  webhook?: string;
  webhookEventsFilter?: WebhookEvent[];
}

interface Progress {
  started: boolean;
  lastLogs: string | undefined;
  lastLogsAt: number;
  outputSent: boolean;
  completed: boolean;
  chain: Promise<void>;
}

export function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === "localhost" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
  } catch {
    return false;
  }
}

/** Sends each job's events in order, one delivery (with its retries) at a time. */
export function createWebhookDispatcher(state: State) {
  const progress = new Map<string, Progress>();
  const pending = new Set<Promise<void>>();
  const rules: { rule: WebhookRule; remaining: number }[] = [];

  /** The first rule that matches this delivery, consumed once. */
  function ruleFor(event: WebhookEvent, jobId: string): WebhookRule | undefined {
    const i = rules.findIndex((r) => (r.rule.event ?? event) === event && (r.rule.jobId ?? jobId) === jobId);
    if (i < 0) return undefined;
    const entry = rules[i]!;
    if (--entry.remaining <= 0) rules.splice(i, 1);
    return entry.rule;
  }

  function enqueue(job: Job, event: WebhookEvent, body: unknown, p: Progress): void {
    const filter = job.webhookEventsFilter ?? ALL_EVENTS;
    if (!job.webhook || !filter.includes(event)) return;
    const url = job.webhook;
    const text = JSON.stringify(body);
    const secret = state.accountsByName.get(job.account)?.webhookSecret ?? "";
    const rule = ruleFor(event, job.id);
    const due = Math.floor(state.clock.now() / 1000);
    p.chain = p.chain.then(() => deliver(url, event, job.id, text, secret, rule, due));
    const tracked = p.chain;
    pending.add(tracked);
    void tracked.finally(() => pending.delete(tracked));
  }

  async function deliver(
    url: string,
    event: WebhookEvent,
    jobId: string,
    body: string,
    secret: string,
    rule: WebhookRule | undefined,
    due: number,
  ): Promise<void> {
    const webhookId = webhookMessageId();
    const shaped = rule ? { rule: rule.action } : {};
    const record = (attempt: number, timestamp: number, status: number) =>
      state.deliveries.push({ url, event, jobId, webhookId, timestamp, body, attempt, status, ...shaped });
    if (rule?.action === "drop") return void record(1, due, 0);
    if (rule?.action === "late") await new Promise((r) => setTimeout(r, rule.delayMs).unref());

    /** One attempt; its HTTP status, 0 when the connection failed, null when the emulator closed. */
    const send = async (attempt: number): Promise<number | null> => {
      if (state.closed) return null;
      const timestamp = rule?.action === "late" && rule.keepTimestamp ? due : Math.floor(state.clock.now() / 1000);
      let status = 0;
      // This machine may only talk to itself: a webhook URL off loopback is recorded, never sent.
      if (!isLoopbackUrl(url)) {
        record(attempt, timestamp, status);
        return null;
      }
      try {
        const res = await fetch(url, {
          method: "POST",
          redirect: "manual",
          signal: AbortSignal.any([AbortSignal.timeout(10_000), state.shutdown.signal]),
          headers: {
            "content-type": "application/json",
            "user-agent": "Replicate-Webhooks/emulator",
            "webhook-id": webhookId,
            "webhook-timestamp": String(timestamp),
            "webhook-signature": signWebhook(secret, webhookId, timestamp, body),
          },
          body,
        });
        status = res.status;
        await res.arrayBuffer().catch(() => undefined);
      } catch {
        status = 0;
      }
      record(attempt, timestamp, status);
      return status;
    };

    const delays = [0, ...state.options.webhookRetryDelaysMs];
    for (let attempt = 1; attempt <= delays.length; attempt++) {
      if (delays[attempt - 1]! > 0) await new Promise((r) => setTimeout(r, delays[attempt - 1]).unref());
      const status = await send(attempt);
      if (status === null) return;
      if (status >= 200 && status < 300) {
        // A repeat rule sends the same delivery again, as Replicate does when a receiver's 2xx was lost.
        const repeats = rule?.action === "repeat" ? (rule.count ?? 1) : 0;
        for (let i = 1; i <= repeats; i++) if ((await send(attempt + i)) === null) return;
        return;
      }
    }
  }

  return {
    intercept(rule: WebhookRule): void {
      rules.push({ rule, remaining: rule.times ?? 1 });
    },
    clearRules(): void {
      rules.splice(0);
    },
    /** Called on every tick with the job's current public JSON. */
    observe(job: Job, view: Record<string, unknown>, terminal: boolean): void {
      if (!job.webhook) return;
      let p = progress.get(job.id);
      if (!p) {
        p = { started: false, lastLogs: undefined, lastLogsAt: 0, outputSent: false, completed: false, chain: Promise.resolve() };
        progress.set(job.id, p);
      }
      if (p.completed) return;
      if (!p.started) {
        p.started = true;
        p.lastLogs = typeof view.logs === "string" ? view.logs : "";
        enqueue(job, "start", view, p);
      }
      const logs = typeof view.logs === "string" ? view.logs : "";
      // Replicate sends logs/output events at most every 500 ms; start and completed always.
      if (!terminal && logs !== p.lastLogs && Date.now() - p.lastLogsAt >= 500) {
        p.lastLogs = logs;
        p.lastLogsAt = Date.now();
        enqueue(job, "logs", view, p);
      }
      if (!p.outputSent && view.output !== null && view.output !== undefined) {
        p.outputSent = true;
        enqueue(job, "output", view, p);
      }
      if (terminal) {
        p.completed = true;
        enqueue(job, "completed", view, p);
      }
    },
    /** True once the job's `completed` event has been queued. */
    done(id: string): boolean {
      return progress.get(id)?.completed === true;
    },
    /** Resolves when every queued delivery (and retry) has finished. */
    async idle(): Promise<void> {
      while (pending.size) await Promise.allSettled([...pending]);
    },
  };
}

export type WebhookDispatcher = ReturnType<typeof createWebhookDispatcher>;
