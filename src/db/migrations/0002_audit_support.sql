-- sselfie schema, version 2: what `sselfie audit` needs to stay fast at a million users.
-- `:SCHEMA` is replaced by the quoted schema name.

-- A cached version schema nearly always declares every input of the locked generation input in
-- its `guidance_scale` form (the locked trainer makes them all). The audit looks only at the few
-- that do not; this index finds them without reading every schema, and its statistics tell the
-- planner they are few. The key list equals USUAL_SCHEMA_KEYS in src/audit/generation-checks.ts
-- (test/audit/sql-rules.test.ts checks that they agree).
CREATE INDEX model_version_schemas_usual_inputs ON :SCHEMA.model_version_schemas
  (((input_schema -> 'properties') ?& '{aspect_ratio,disable_safety_checker,go_fast,guidance_scale,num_inference_steps,num_outputs,output_format,output_quality,prompt,seed}'::text[]));

-- Every generation sends exactly the locked input (CONTRACT.md) and records its sha256: the
-- database refuses any other row, so the audit can prove the rule from the catalogue instead of
-- re-deriving it for every row (src/audit/constraints.ts checks this function's text and the
-- constraint's definition, and falls back to the per-row pass when either differs or the
-- constraint is not validated). The input is the locked constants, guidance 2.8 under one of
-- the two keys (GUIDANCE_KEYS), the row's prompt and seed, nothing else; the hash is that of
-- canonicalJson (keys sorted; PostgreSQL's to_json escapes a string as JSON.stringify does).
-- test/audit/constraints.test.ts checks it against src/locked.ts.
CREATE FUNCTION :SCHEMA.generation_input_locked(input jsonb, prompt text, seed integer, input_hash text)
  RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
SELECT coalesce(
  input = '{"aspect_ratio":"3:4","disable_safety_checker":false,"go_fast":false,"num_inference_steps":35,"num_outputs":3,"output_format":"png","output_quality":95}'::jsonb
          || jsonb_build_object(g.key, 2.8, 'prompt', prompt, 'seed', seed)
  AND input_hash = encode(sha256(convert_to(
        '{"aspect_ratio":"3:4","disable_safety_checker":false,"go_fast":false,"' || g.key
        || '":2.8,"num_inference_steps":35,"num_outputs":3,"output_format":"png","output_quality":95,"prompt":'
        || to_json(prompt)::text || ',"seed":' || seed::text || '}', 'UTF8')), 'hex'),
  false)
FROM (SELECT CASE WHEN input ? 'guidance' THEN 'guidance' ELSE 'guidance_scale' END AS key) AS g
$$;

-- Added unchecked, then validated when every existing row complies; rows written before this
-- migration that do not are left to the audit to report (the constraint then stays NOT VALID and
-- the audit runs its per-row pass), and every new row is checked either way.
ALTER TABLE :SCHEMA.generations ADD CONSTRAINT generations_input_locked
  CHECK (:SCHEMA.generation_input_locked(input, prompt, seed, input_hash)) NOT VALID;

DO $$
BEGIN
  ALTER TABLE :SCHEMA.generations VALIDATE CONSTRAINT generations_input_locked;
EXCEPTION WHEN check_violation THEN
  NULL;
END;
$$;
-- A recorded output version is a 64-hex version id (sselfie records it only once verified).
ALTER TABLE :SCHEMA.trainings ADD CONSTRAINT trainings_output_version_hex
  CHECK (output_version ~ '^[0-9a-f]{64}$') NOT VALID;
DO $$
BEGIN
  ALTER TABLE :SCHEMA.trainings VALIDATE CONSTRAINT trainings_output_version_hex;
EXCEPTION WHEN check_violation THEN
  NULL;
END;
$$;

-- A version is the output of one training: recording it for two is a shared version. Created
-- only when no two rows share one already (the audit's self-join then reports them).
DO $$
BEGIN
  CREATE UNIQUE INDEX trainings_output_version ON :SCHEMA.trainings (output_version) WHERE output_version IS NOT NULL;
EXCEPTION WHEN unique_violation THEN
  NULL;
END;
$$;

-- Statistics for the expression index above, so the planner knows how few rows it selects.
ANALYZE :SCHEMA.model_version_schemas;
