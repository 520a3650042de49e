/**
 * One table's rules as set-based SQL. Each rule is a boolean SQL expression over one row of the
 * table (aliased `x`). A clean table costs one pass for the rules that need only the row, plus
 * one query for each rule that needs other rows: such a rule is counted `alone`, with its
 * condition in the WHERE clause, where PostgreSQL turns [NOT] EXISTS into a parallel hash
 * (anti-)join instead of a lookup per row. Only when something was found:
 *   - rules counted through a `screen` (a cheaper superset of their condition) are counted
 *     exactly over the screened rows;
 *   - one more pass lists the first `cap` findings of each violated rule, in a stable order, with
 *     the columns their messages need (their conditions may then use correlated lookups).
 * Nothing is evaluated per row in JavaScript, and the result is bounded whatever the data holds.
 */
import type { Queryable } from "../db/types.js";

/**
 * Collects query parameters. `add` returns a placeholder; `bind` numbers the placeholders a query
 * text actually uses, because PostgreSQL refuses values for parameters a statement does not use
 * (and the queries of one check use different subsets). Each carries its cast, as PostgreSQL
 * wants every parameter typed.
 */
export class SqlParams {
  private readonly values: unknown[] = [];
  add(value: unknown, cast: string): string {
    this.values.push(value);
    return `\u0001${this.values.length - 1}\u0001::${cast}`;
  }
  bind(sql: string, extra: unknown[] = []): { text: string; values: unknown[] } {
    const values: unknown[] = [];
    const numbers = new Map<number, number>();
    const text = sql.replace(/\u0001(\d+)\u0001/g, (_m, index: string) => {
      const i = Number(index);
      let n = numbers.get(i);
      if (n === undefined) {
        values.push(this.values[i]);
        n = values.length;
        numbers.set(i, n);
      }
      return `$${n}`;
    });
    // Extra values follow, referenced as $E1, $E2... in the text.
    const withExtra = text.replace(/\$E(\d+)/g, (_m, k: string) => `$${values.length + Number(k)}`);
    return { text: withExtra, values: [...values, ...extra] };
  }
}

export interface SqlRule {
  id: string;
  /** A boolean SQL expression over the row; NULL counts as no finding. */
  when: string;
  /** Count it by a query of its own (see above). */
  alone?: boolean;
  /** A condition true for every row `when` is true for, and cheaper; counted first (see above). */
  screen?: { when: string; alone?: boolean };
}

export interface TableCheck<D> {
  /** `WITH` items (without the keyword), or "". */
  with: string;
  /** The FROM items (no `FROM` keyword): the table aliased `x`, with what it joins. */
  from: string;
  /** Which rows are audited (the scope), e.g. `x.user_id = $1`; default all. */
  where?: string;
  /** Columns selected for listed findings (must include `user_id`). */
  detail: string;
  /** Stable order of listed findings within a rule. */
  order: string;
  rules: SqlRule[];
  /**
   * Planner settings for this check's queries only (`SET LOCAL`, restored afterwards), where the
   * planner's estimates pick a plan that measures slower. They change how a query runs, never
   * what it answers.
   */
  settings?: Record<string, string>;
  params: SqlParams;
  /** Turns a listed row into the finding's fields. */
  describe(ruleId: string, row: D): FindingFields;
}

export interface FindingFields {
  userId: string;
  message: string;
  [key: string]: unknown;
}

export interface TableCheckResult {
  rows: number;
  counts: Map<string, number>;
  listed: Array<{ rule: string } & FindingFields>;
}

export async function runTableCheck<D>(db: Queryable, check: TableCheck<D>, cap: number): Promise<TableCheckResult> {
  const settings = Object.entries(check.settings ?? {});
  if (settings.length === 0) return runChecked(db, check, cap);
  const names = settings.map(([name]) => name);
  const set = (values: string[]) => db.query("SELECT set_config(n, v, true) FROM unnest($1::text[], $2::text[]) AS u(n, v)", [names, values]);
  const before = await db.query<{ v: string }>("SELECT current_setting(n) AS v FROM unnest($1::text[]) WITH ORDINALITY AS u(n, i) ORDER BY i", [names]);
  await set(settings.map(([, value]) => value));
  // Restored on success only: after an error the transaction is rolled back, settings with it.
  const result = await runChecked(db, check, cap);
  await set(before.rows.map((r) => r.v));
  return result;
}

async function runChecked<D>(db: Queryable, check: TableCheck<D>, cap: number): Promise<TableCheckResult> {
  const withClause = check.with ? `WITH ${check.with}\n` : "";
  const where = check.where ?? "true";
  const count = async (conditions: string[], extraWhere?: string) => {
    const w = extraWhere ? `(${where}) AND (${extraWhere})` : where;
    const q = check.params.bind(countQuery(withClause, check.from, w, conditions));
    const { rows } = await db.query<Record<string, number>>(q.text, q.values);
    return { n: Number(rows[0]?.n ?? 0), c: conditions.map((_, i) => Number(rows[0]?.[`c${i}`] ?? 0)) };
  };

  // Screens shared by several rules are counted once.
  const screens = new Map<string, { when: string; alone: boolean; n: number }>();
  for (const r of check.rules) if (r.screen) screens.set(r.screen.when, { when: r.screen.when, alone: r.screen.alone === true, n: 0 });
  const inPass = [
    ...check.rules.filter((r) => !r.screen && !r.alone).map((r) => r.when),
    ...[...screens.values()].filter((sc) => !sc.alone).map((sc) => sc.when),
  ];
  const pass = await count(inPass);
  const counts = new Map<string, number>();
  const found = new Map<string, number>(inPass.map((when, i) => [when, pass.c[i]!]));
  for (const r of check.rules.filter((r) => r.alone && !r.screen)) found.set(r.when, (await count([], r.when)).n);
  for (const sc of screens.values()) sc.n = sc.alone ? (await count([], sc.when)).n : found.get(sc.when)!;
  for (const r of check.rules) {
    if (r.screen) continue;
    const n = found.get(r.when) ?? 0;
    if (n > 0) counts.set(r.id, n);
  }
  for (const sc of screens.values()) {
    if (sc.n === 0) continue;
    const screened = check.rules.filter((r) => r.screen?.when === sc.when);
    const exact = await count(
      screened.map((r) => r.when),
      sc.when,
    );
    screened.forEach((r, i) => {
      if (exact.c[i]! > 0) counts.set(r.id, exact.c[i]!);
    });
  }
  const result: TableCheckResult = { rows: pass.n, counts, listed: [] };
  if (counts.size === 0 || cap <= 0) return result;

  const violated = check.rules.filter((r) => counts.has(r.id));
  const ruleIds = violated.map((r) => r.id);
  const hits = violated.map((r, i) => `($E${i + 2}::text, coalesce(${r.when}, false))`).join(", ");
  // The violated rules join as a LATERAL list, so each row is read once however many it breaks.
  const q = check.params.bind(
    `${withClause}SELECT * FROM (\n` +
      `  SELECT v.rule, ${check.detail},\n` +
      `    row_number() OVER (PARTITION BY v.rule ORDER BY ${check.order}) AS rn\n` +
      `  FROM ${check.from}\n` +
      `  CROSS JOIN LATERAL (VALUES ${hits}) AS v(rule, hit)\n` +
      `  WHERE v.hit AND (${where})\n` +
      `) y WHERE rn <= $E1::int ORDER BY rule, rn`,
    [cap, ...ruleIds],
  );
  const listed = await db.query<D & { rule: string }>(q.text, q.values);
  for (const row of listed.rows) {
    result.listed.push({ rule: row.rule, ...check.describe(row.rule, row) });
  }
  return result;
}

function countQuery(withClause: string, from: string, where: string, conditions: string[]): string {
  return (
    `${withClause}SELECT count(*)::bigint AS n` +
    conditions.map((c, i) => `,\n  count(*) FILTER (WHERE coalesce(${c}, false))::bigint AS c${i}`).join("") +
    `\nFROM ${from}\nWHERE ${where}`
  );
}
