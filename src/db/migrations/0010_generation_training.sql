-- sselfie schema, version 10: every generation records the training whose version it used, and
-- the database refuses a generation whose training is not a completed training of the same user
-- that made that very version (CONTRACT.md: "the database itself enforces what it can").
-- `:SCHEMA` is replaced by the quoted schema name.

-- The reference a completed training's version is generated with, `{destination}:{output_version}`;
-- NULL until the training has completed with an output. Computed by the database, never written.
ALTER TABLE :SCHEMA.trainings ADD COLUMN version_ref text
  GENERATED ALWAYS AS (CASE WHEN status = 'completed' THEN destination || ':' || output_version END) STORED;
-- What a generation's foreign key points at (id alone is the key; the user and the version ride
-- along so that the key binds them).
ALTER TABLE :SCHEMA.trainings ADD CONSTRAINT trainings_generation_key UNIQUE (id, user_id, version_ref);

-- Generations written before this version: the completed training of their user whose version
-- they used (the first, should several record it).
ALTER TABLE :SCHEMA.generations ADD COLUMN training_id bigint;
UPDATE :SCHEMA.generations g SET training_id = t.id
  FROM (SELECT DISTINCT ON (user_id, version_ref) id, user_id, version_ref FROM :SCHEMA.trainings
         WHERE version_ref IS NOT NULL ORDER BY user_id, version_ref, id) t
 WHERE t.user_id = g.user_id AND t.version_ref = g.version_ref;

-- A generation that no completed training of its user made the version of cannot be linked: the
-- migration refuses (and rolls back) rather than record a link that is not true, and names them.
DO $$
DECLARE
  missing bigint;
  listed text;
BEGIN
  SELECT count(*) INTO missing FROM :SCHEMA.generations WHERE training_id IS NULL;
  IF missing > 0 THEN
    SELECT string_agg(format('#%s (user %s, %s)', id, user_id, version_ref), ', ' ORDER BY id) INTO listed
      FROM (SELECT id, user_id, version_ref FROM :SCHEMA.generations WHERE training_id IS NULL ORDER BY id LIMIT 20) g;
    RAISE EXCEPTION '% generation(s) used a version that no completed training of their user made, so they cannot record their training: %. '
      'They break the audit''s rules (the sselfie before this one lists them with `sselfie audit --all` as generation.model, generation.version or '
      'generation.no-completed-model): correct or delete them, then run `sselfie init` again.',
      missing, listed || CASE WHEN missing > 20 THEN format(' and %s more', missing - 20) ELSE '' END
      USING ERRCODE = 'foreign_key_violation';
  END IF;
END;
$$;

ALTER TABLE :SCHEMA.generations ALTER COLUMN training_id SET NOT NULL;
-- The user's own completed training that made this very version: a generation of another user's
-- version, of a base model, or of a training that has not completed cannot be inserted, and a
-- training cannot leave `completed` (nor be deleted) while generations name it.
ALTER TABLE :SCHEMA.generations ADD CONSTRAINT generations_training_fkey
  FOREIGN KEY (training_id, user_id, version_ref) REFERENCES :SCHEMA.trainings (id, user_id, version_ref);
-- Serves the key's checks when a training is deleted (erasure), and the audit.
CREATE INDEX generations_training ON :SCHEMA.generations (training_id);
