-- sselfie schema, version 11: indexes that let `sselfie audit` check every generation against the
-- training it names without reading either table's rows (an index-only scan reads the 8 KB pages
-- of the table only where they are not yet marked all-visible, so it sees every row as a scan
-- would). They prove nothing by themselves: the audit's queries are the same rules, answered from
-- smaller structures the database keeps for every row written, triggers on or off.
-- `:SCHEMA` is replaced by the quoted schema name.

-- 0010's index on a generation's training, carrying what the audit's generation rules read of the
-- row (its user, its time, its version reference, its id): walked in training order, it meets the
-- trainings below in the same order. It still serves the key's checks when a training is deleted.
CREATE INDEX generations_training_audit ON :SCHEMA.generations (training_id) INCLUDE (user_id, created_at, version_ref, id);
DROP INDEX :SCHEMA.generations_training;
ALTER INDEX :SCHEMA.generations_training_audit RENAME TO generations_training;

-- Generations that sent guidance under its second name (`guidance`): few, and the only ones whose
-- input the audit must look at when 0002's constraint holds every input to the locked one.
CREATE INDEX generations_guidance_key ON :SCHEMA.generations (id) WHERE input ? 'guidance';

-- Completed trainings with what a generation's or a model's check reads of them.
CREATE INDEX trainings_completed ON :SCHEMA.trainings (id) INCLUDE (user_id, output_version, finished_at, updated_at)
  WHERE status = 'completed';
