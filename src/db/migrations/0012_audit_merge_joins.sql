-- sselfie schema, version 12: the two joins `sselfie audit` makes over every row, each walked as
-- two indexes side by side in the order they share (a merge join) instead of a hash table of a
-- million rows built in memory, which cost the audit more than reading the rows did. They prove
-- nothing by themselves: the audit's queries are the same rules, answered from structures the
-- database keeps for every row written, triggers on or off.
-- `:SCHEMA` is replaced by the quoted schema name.

-- 0011's completed trainings, carrying the version reference a generation is compared with (0010's
-- generated column) instead of the output version: a generation's check reads this index beside
-- 0011's index on the generation's training, both in training order.
CREATE INDEX trainings_completed_refs ON :SCHEMA.trainings (id) INCLUDE (user_id, version_ref, finished_at, updated_at)
  WHERE status = 'completed';
DROP INDEX :SCHEMA.trainings_completed;
ALTER INDEX :SCHEMA.trainings_completed_refs RENAME TO trainings_completed;

-- Each user's model with its active version, and each user's completed trainings with their output,
-- both in user order: a model's version is looked up among its user's outputs by walking the two.
CREATE INDEX user_models_versions ON :SCHEMA.user_models (user_id) INCLUDE (replicate_version_id);
CREATE INDEX trainings_completed_outputs ON :SCHEMA.trainings (user_id, output_version) WHERE status = 'completed';
