/**
 * Rules over `generations`: the user's own `model:version`, a completed model at that time, and
 * exactly the locked input with its hash. All in SQL, one pass:
 *
 * - Input: the stored jsonb must equal the locked constants plus the row's own prompt and seed and
 *   guidance 2.8 under one guidance key. When the version's schema is cached, the key must be the
 *   one it declares (GUIDANCE_KEYS order) and the schema must declare every locked input.
 *   Cached schemas are nearly all alike (trained by the one locked trainer), so only the few that
 *   do not declare every input of the `guidance_scale` form are looked at (an index of 0002 keeps
 *   them at hand); a `guidance` input is checked against the cache row by row, but only for rows
 *   that use it.
 * - Hash: the canonical JSON of a locked input is a fixed text around the prompt and the seed
 *   (locked.ts sorts keys and JSON-encodes the prompt exactly as PostgreSQL's to_json does), so its
 *   sha256 is computed in SQL. A row whose input is already not locked is reported for its input;
 *   its hash is then compared in JavaScript for the listed rows only.
 * - "At that time": a completed training of the user whose output is the generation's version and
 *   which finished at or before the generation was recorded. A training's finished_at comes from
 *   Replicate's clock (completed_at) while created_at is the database's, so the earlier of
 *   finished_at and updated_at (set on the database's clock when the outcome was recorded) is
 *   used: a generation can only follow the recording, never precede it, whatever the clock skew.
 */
import {
  GUIDANCE,
  GUIDANCE_KEYS,
  LOCKED_GENERATION_INPUT,
  buildGenerationInput,
  canonicalJson,
  hashInput,
  lockedInputKeys,
  type GuidanceKey,
} from "../locked.js";
import { completedTrainingsSql, expectedModelSql, hex64Sql, type AuditScope } from "./scope-sql.js";
import type { Queryable } from "../db/types.js";
import { SqlParams, type TableCheck } from "./sql-check.js";

const PROMPT_MARK = "\u0001prompt\u0001";
const SEED_MARK = 987_654_321;

/** The canonical JSON of a locked input, split around its prompt and seed. */
export function canonicalInputParts(key: GuidanceKey): { beforePrompt: string; between: string; afterSeed: string } {
  const text = canonicalJson(buildGenerationInput(PROMPT_MARK, SEED_MARK, key));
  const promptAt = text.indexOf(JSON.stringify(PROMPT_MARK));
  const seedAt = text.indexOf(`:${SEED_MARK}`) + 1;
  if (promptAt < 0 || seedAt <= promptAt) throw new Error("The locked input's canonical JSON no longer puts the prompt before the seed");
  return {
    beforePrompt: text.slice(0, promptAt),
    between: text.slice(promptAt + JSON.stringify(PROMPT_MARK).length, seedAt),
    afterSeed: text.slice(seedAt + String(SEED_MARK).length),
  };
}


/** The keys a cached schema must declare for the usual form of the locked input. */
export const USUAL_SCHEMA_KEYS: readonly string[] = lockedInputKeys(GUIDANCE_KEYS[0]);

interface GenerationRow {
  user_id: string;
  id: number;
  version_ref: string;
  input: Record<string, unknown>;
  input_hash: string;
  prompt: string;
  seed: number;
  created_at: Date;
  expected_model: string | null;
  guidance_key: string;
  schema_key: string | null;
  schema_complete: boolean | null;
  schema_cached: boolean | null;
}

/** Above this many unusual cached schemas, they are joined in SQL instead of sent as a parameter. */
export const UNUSUAL_SCHEMAS_PARAM_LIMIT = 10_000;

export interface UnusualSchema {
  versionId: string;
  /** The guidance key the schema prefers, or null when it declares none. */
  key: string | null;
  /** It declares every locked input of its key's form. */
  complete: boolean;
}

/** Cached schemas that are not the usual kind, as SQL; the index of 0002 serves its WHERE. */
function unusualSchemasSql(p: SqlParams, s: string): string {
  const usualKeys = `'{${USUAL_SCHEMA_KEYS.join(",")}}'::text[]`;
  const keyOf = `CASE ${GUIDANCE_KEYS.map((k) => `WHEN props ? ${p.add(k, "text")} THEN ${p.add(k, "text")}`).join(" ")} END`;
  const keysOf = `CASE ${GUIDANCE_KEYS.map((k) => `WHEN ${p.add(k, "text")} THEN ${p.add(lockedInputKeys(k), "text[]")}`).join(" ")} END`;
  return `SELECT version_id, key, coalesce(props ?& ${keysOf.replace("CASE ", "CASE key ")}, false) AS complete
    FROM (SELECT version_id, props, ${keyOf} AS key
          FROM (SELECT version_id, input_schema -> 'properties' AS props FROM ${s}.model_version_schemas
                WHERE NOT ((input_schema -> 'properties') ?& ${usualKeys})) a) b`;
}

export async function loadUnusualSchemas(db: Queryable, s: string): Promise<UnusualSchema[] | "too-many"> {
  const p = new SqlParams();
  const q = p.bind(`${unusualSchemasSql(p, s)} LIMIT ${UNUSUAL_SCHEMAS_PARAM_LIMIT + 1}`);
  const { rows } = await db.query<{ version_id: string; key: string | null; complete: boolean }>(q.text, q.values);
  if (rows.length > UNUSUAL_SCHEMAS_PARAM_LIMIT) return "too-many";
  return rows.map((r) => ({ versionId: r.version_id, key: r.key, complete: r.complete }));
}

/**
 * `lockedInputConstraint`: the validated constraint of migration 0002 (see constraints.ts) holds
 * every row to the locked input of one guidance form and its hash, so only the key's agreement
 * with the version's cached schema is left to check, and the hash not at all.
 *
 * The training each row names (`training_id`, migration 0010) joins the rules pass on its primary
 * key (a LEFT JOIN adds no row). When it is a completed training of the row's user that made the
 * row's very version and was done by the row's time, the row is settled for the version rules;
 * any other row (no such training: a key dropped, not validated, or written around while
 * triggers were off) is screened, and the exact rules look it up among all the user's trainings.
 * Nothing here trusts the key: it is what makes the screen pass for clean rows.
 */
export function generationsCheck(
  scope: AuditScope,
  unusual: UnusualSchema[] | "too-many",
  opts: { lockedInputConstraint: boolean; guidanceKeyIndex?: boolean; versionRefProven?: boolean } = { lockedInputConstraint: false },
): TableCheck<GenerationRow> {
  const p = new SqlParams();
  const { s } = scope;
  const expectedModel = expectedModelSql(p, scope, "x.user_id");
  const where = scope.userId === null ? "true" : `x.user_id = ${p.add(scope.userId, "text")}`;
  const [preferred, alternative] = GUIDANCE_KEYS;
  const preferredKey = p.add(preferred, "text");
  const alternativeKey = p.add(alternative, "text");
  const version = "split_part(x.version_ref, ':', 2)";

  // The input in the exact form buildGenerationInput(prompt, seed, key) gives, for each key,
  // without building a jsonb per row (which costs several times more): the constants contained,
  // prompt and seed equal, no other key. The seed is compared as text, so it must be written as
  // an integer (as JSON.stringify does). Forms are tried in GUIDANCE_KEYS order, so a usual row
  // settles on the first.
  const lockedAs = new Map(
    GUIDANCE_KEYS.map((k) => [
      k,
      `coalesce(x.input @> ${p.add(JSON.stringify({ ...LOCKED_GENERATION_INPUT, [k]: GUIDANCE }), "jsonb")}` +
        ` AND jsonb_typeof(x.input -> 'prompt') = 'string' AND x.input ->> 'prompt' = x.prompt` +
        ` AND jsonb_typeof(x.input -> 'seed') = 'number' AND x.input ->> 'seed' = x.seed::text` +
        ` AND x.input - ${p.add(lockedInputKeys(k), "text[]")} = '{}'::jsonb, false)`,
    ]),
  );
  const hashAs = new Map(
    GUIDANCE_KEYS.map((k) => {
      const parts = canonicalInputParts(k);
      return [
        k,
        `encode(sha256(convert_to(${p.add(parts.beforePrompt, "text")} || to_json(x.prompt)::text || ${p.add(parts.between, "text")}` +
          ` || x.seed::text || ${p.add(parts.afterSeed, "text")}, 'UTF8')), 'hex')`,
      ];
    }),
  );
  const usedKey = `(CASE WHEN x.input ? ${alternativeKey} THEN ${alternativeKey} ELSE ${preferredKey} END)`;
  // Whether the row sent guidance under its second name. With the input otherwise proven locked,
  // this is all the rules read of the input: asked of the few rows 0011's partial index holds
  // (the same question, answered by the index), the pass reads no column outside 0011's index on
  // the row's training, and can leave the 1.8 GB of rows at a million users unread.
  const alternativeUsed = opts.guidanceKeyIndex
    ? `(x.id IN (SELECT ga.id FROM ${s}.generations ga WHERE ga.input ? ${sqlLiteral(alternative)}))`
    : `(x.input ? ${alternativeKey})`;
  // With no unusual schema at all, nothing to join: one row of NULLs, which the planner folds.
  const noUnusual = unusual !== "too-many" && unusual.length === 0;
  const unusualFrom =
    unusual === "too-many"
      ? `(${unusualSchemasSql(p, s)})`
      : `unnest(${p.add(unusual.map((u) => u.versionId), "text[]")}, ${p.add(unusual.map((u) => u.key), "text[]")}, ` +
        `${p.add(unusual.map((u) => u.complete), "boolean[]")})`;
  // Every completed training of the user whose output is this version, done by then.
  const completedThen = `EXISTS (SELECT 1 FROM ${s}.trainings t WHERE t.user_id = x.user_id AND t.status = 'completed'
      AND t.output_version = ${version} AND least(t.finished_at, t.updated_at) <= x.created_at)`;
  const anyCompletedThen = `EXISTS (SELECT 1 FROM ${s}.trainings t2 WHERE t2.user_id = x.user_id AND t2.status = 'completed'
      AND t2.output_version IS NOT NULL AND least(t2.finished_at, t2.updated_at) <= x.created_at)`;
  // The row's training: completed, of the same user, with the row's version as its output.
  const linked = `(t.user_id = x.user_id AND t.output_version = ${version})`;
  // `{own model}:{64 hex}`; the version is the last 64 characters (cheaper than split_part), and
  // what precedes them is compared without building the whole reference. A version its training
  // recorded (checked to be 64 hex by training.output-version) needs no second look.
  const ownModel = `(left(x.version_ref, -64) = ${expectedModel} || ':' AND (coalesce(${linked}, false) OR ${hex64Sql("right(x.version_ref, 64)")}))`;
  const noVersionThen = `${ownModel} AND NOT ${completedThen}`;
  // `versionRefProven`: trainings.version_ref is 0010's generated `{destination}:{output_version}`
  // (the catalogue says so) and the trainings pass found every destination in scope to be its
  // user's own model and every completed training's output 64 hex. A row equal to its training's
  // reference, of the same user, done by then, is then of its own model, and a version that
  // training made: one comparison settles the three version rules, and only the rows it does
  // not settle are looked at again. Without that proof, the model is tested on every row.
  const settled = opts.versionRefProven
    ? `coalesce(t.user_id = x.user_id AND t.version_ref = x.version_ref AND t.done <= x.created_at, false)`
    : `coalesce(${linked} AND t.done <= x.created_at, false)`;
  const noVersionScreen = `NOT ${settled}`;
  const cachedSchema = `EXISTS (SELECT 1 FROM ${s}.model_version_schemas ms WHERE ms.version_id = ${version})`;
  // The key the version's cached schema prefers must be the one used, and the schema must declare
  // every locked input of that form. Usual schemas (not in `us`) prefer the first key; a row using
  // another key with no `us` row is allowed only when the version's schema is not cached at all,
  // which takes a lookup, so the first pass screens such rows as suspect.
  const keyAllowed = (k: GuidanceKey, exact: boolean) =>
    k === preferred
      ? `(us.version_id IS NULL OR (us.key IS NOT DISTINCT FROM ${p.add(k, "text")} AND us.complete IS TRUE))`
      : `((us.key IS NOT DISTINCT FROM ${p.add(k, "text")} AND us.complete IS TRUE)${exact ? ` OR (us.version_id IS NULL AND NOT ${cachedSchema})` : ""})`;
  const inputOk = (exact: boolean) =>
    opts.lockedInputConstraint
      ? `(CASE WHEN ${alternativeUsed} THEN ${keyAllowed(alternative, exact)} ELSE ${keyAllowed(preferred, exact)} END)`
      : `(${GUIDANCE_KEYS.map((k) => `(${lockedAs.get(k)} AND ${keyAllowed(k, exact)})`).join(" OR ")})`;
  const hashMismatch = `(CASE ${GUIDANCE_KEYS.map((k) => `WHEN ${lockedAs.get(k)} THEN x.input_hash IS DISTINCT FROM ${hashAs.get(k)}`).join(" ")} ELSE false END)`;
  const hashScreen = `x.input_hash IS DISTINCT FROM (CASE WHEN x.input ? ${alternativeKey} THEN ${hashAs.get(alternative)} ELSE ${hashAs.get(preferred)} END)`;

  return {
    with: "",
    from:
      `${s}.generations x ` +
      (noUnusual
        ? "CROSS JOIN (VALUES (NULL::text, NULL::text, NULL::boolean)) AS us(version_id, key, complete)"
        : `LEFT JOIN ${unusualFrom} AS us(version_id, key, complete) ON us.version_id = ${version}`) +
      ` LEFT JOIN ${completedTrainingsSql(s, { versionRef: opts.versionRefProven })} t ON t.id = x.training_id`,
    where,
    // Each generation meets its training by walking 0011's index on the generations' training and
    // 0012's on completed trainings side by side, both in training order: the planner costs a
    // hash of a million trainings lower, which took 1.1 s where this takes 0.5-0.7 s
    // (bench/README.md). With unusual cached schemas joined by version, a hash stays the plan (a
    // merge would sort them).
    ...(noUnusual ? { settings: { enable_hashjoin: "off" } } : {}),
    detail: `x.user_id, x.id, x.version_ref, x.input, x.input_hash, x.prompt, x.seed, x.created_at,
      ${expectedModel} AS expected_model, ${usedKey} AS guidance_key, us.key AS schema_key,
      us.complete AS schema_complete, CASE WHEN us.version_id IS NULL THEN ${cachedSchema} ELSE true END AS schema_cached`,
    order: "x.user_id, x.id",
    params: p,
    rules: [
      { id: "generation.model", when: `NOT ${ownModel}`, ...(opts.versionRefProven ? { screen: { when: noVersionScreen } } : {}) },
      {
        id: "generation.no-completed-model",
        when: `${noVersionThen} AND NOT ${anyCompletedThen}`,
        screen: { when: noVersionScreen },
      },
      { id: "generation.version", when: `${noVersionThen} AND ${anyCompletedThen}`, screen: { when: noVersionScreen } },
      {
        id: "generation.input",
        when: `NOT ${inputOk(true)}`,
        // With the input proven locked and no unusual cached schema, only a row that sent the
        // second guidance key can break the rule: those few are counted from 0011's index alone.
        screen:
          opts.lockedInputConstraint && opts.guidanceKeyIndex && noUnusual
            ? { when: alternativeUsed, alone: true }
            : { when: `NOT ${inputOk(false)}` },
      },
      // Screened by the hash of the form the row's keys point to, so that a clean row runs the
      // locked-input test once (for the rule above) and one sha256.
      ...(opts.lockedInputConstraint ? [] : [{ id: "generation.input-hash", when: hashMismatch, screen: { when: hashScreen } }]),
    ],
    describe: (rule, row) => describeGeneration(rule, row),
  };
}

/** A constant as an SQL literal (a partial index's predicate is matched against literals, not parameters). */
function sqlLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function describeGeneration(rule: string, row: GenerationRow) {
  const base = { userId: row.user_id, generationId: row.id, versionRef: row.version_ref };
  const which = `Generation #${row.id}`;
  const at = row.created_at instanceof Date ? row.created_at.toISOString() : String(row.created_at);
  switch (rule) {
    case "generation.model":
      return {
        ...base,
        message: `${which} used ${JSON.stringify(row.version_ref)}, not a version of the user's own model ${row.expected_model ?? ""}.`.replace(" .", "."),
      };
    case "generation.no-completed-model":
      return { ...base, message: `${which} was recorded at ${at}, when user ${row.user_id} had no completed model.` };
    case "generation.version":
      return {
        ...base,
        message: `${which} used version ${row.version_ref.split(":")[1] ?? ""}, which no completed training of user ${row.user_id} had produced by ${at}.`,
      };
    case "generation.input-hash":
      return { ...base, message: `${which}'s input_hash ${row.input_hash} is not the sha256 of its input (${hashInput(row.input)}).` };
    default:
      return { ...base, message: `${which} ${inputProblem(row)}` };
  }
}

/** Why a listed row's input is not the locked input (for its message only). */
function inputProblem(row: GenerationRow): string {
  const problems: string[] = [];
  const key = (GUIDANCE_KEYS as readonly string[]).includes(row.guidance_key) ? (row.guidance_key as GuidanceKey) : GUIDANCE_KEYS[0];
  const expected = buildGenerationInput(row.prompt, row.seed, key);
  const input = row.input && typeof row.input === "object" ? row.input : {};
  const keys = new Set([...Object.keys(expected), ...Object.keys(input)]);
  for (const k of [...keys].sort()) {
    if (!(k in input)) problems.push(`lacks "${k}"`);
    else if (!(k in expected)) problems.push(`sent "${k}" = ${JSON.stringify(input[k])}, which is not a locked input`);
    else if (canonicalJson(input[k]) !== canonicalJson(expected[k])) {
      problems.push(`sent "${k}" = ${JSON.stringify(input[k])} instead of ${JSON.stringify(expected[k])}`);
    }
  }
  if (row.schema_complete === false) {
    problems.push(
      row.schema_key === null
        ? "the version's cached schema declares no guidance input"
        : row.schema_key !== key
          ? `used guidance key "${key}" but the version's cached schema declares "${row.schema_key}"`
          : "the version's cached schema does not declare every locked input",
    );
  } else if (row.schema_complete === null && row.schema_cached && key !== GUIDANCE_KEYS[0]) {
    problems.push(`used guidance key "${key}" but the version's cached schema declares "${GUIDANCE_KEYS[0]}"`);
  }
  if (problems.length === 0) problems.push("is not the locked input");
  const hashNote = hashInput(input) === row.input_hash ? "" : " Its input_hash does not match the stored input either.";
  return `did not send exactly the locked input: ${problems.join("; ")}.${hashNote}`;
}
