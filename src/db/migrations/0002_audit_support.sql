-- sselfie schema, version 2: what `sselfie audit` needs to stay fast at a million users.
-- `:SCHEMA` is replaced by the quoted schema name.

-- A cached version schema nearly always declares every input of the locked generation input in
-- its `guidance_scale` form (the locked trainer makes them all). The audit looks only at the few
-- that do not; this index finds them without reading every schema, and its statistics tell the
-- planner they are few. The key list equals USUAL_SCHEMA_KEYS in src/audit/generation-checks.ts
-- (test/audit/sql-rules.test.ts checks that they agree).
CREATE INDEX model_version_schemas_usual_inputs ON :SCHEMA.model_version_schemas
  (((input_schema -> 'properties') ?& '{aspect_ratio,disable_safety_checker,go_fast,guidance_scale,num_inference_steps,num_outputs,output_format,output_quality,prompt,seed}'::text[]));
