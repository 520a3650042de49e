-- sselfie schema, version 3: what `sselfie reconcile` needs. `:SCHEMA` is the quoted schema name.

-- The folder a generation's images go to, so that a later process can download them there.
ALTER TABLE :SCHEMA.generations ADD COLUMN out_dir text;

-- When a reconciler may next take the row: a claim sets it a lease ahead (a crashed reconciler's
-- claim lapses), a finished check sets it a short interval ahead (several cron jobs at once do
-- each row once). NULL: never claimed. It is not `updated_at`, which tells a live `train` apart.
ALTER TABLE :SCHEMA.trainings ADD COLUMN reconcile_after timestamptz;
ALTER TABLE :SCHEMA.generations ADD COLUMN reconcile_after timestamptz;

-- Only the unfinished rows are indexed: a pass reads them and never the finished millions.
CREATE INDEX trainings_unfinished ON :SCHEMA.trainings (id) WHERE status IN ('pending', 'training');
-- The predicate equals UNFINISHED_GENERATION in src/db/reconcile-claims.ts (the planner uses the
-- index only for a query whose condition implies it).
CREATE INDEX generations_unfinished ON :SCHEMA.generations (id)
  WHERE status IN ('pending', 'unknown', 'starting', 'processing')
     OR (status = 'succeeded' AND (outputs IS NULL OR outputs @> '[{"file": null}]'::jsonb));
