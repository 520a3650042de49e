-- sselfie schema, version 5: erasure (`sselfie erase --user`). `:SCHEMA` is the quoted schema name.

-- One row per erasure: the state of one still running ('erasing': train and generate refuse the
-- user), and afterwards the tombstone ('erased'): who, when, what was removed, what could not be.
-- No foreign key: the user's rows go, this row stays.
CREATE TABLE :SCHEMA.erasures (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id      text NOT NULL,
  status       text NOT NULL DEFAULT 'erasing' CHECK (status IN ('erasing', 'erased')),
  operator     text,
  -- The user's model at Replicate ("owner/name"), recorded when the erasure began.
  model_id     text,
  -- {"versions":[ids],"model":bool,"files":[ids],"localFiles":[paths],"rows":n}, grown step by step.
  deleted      jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- [{"kind","id","why"}]: what Replicate or the disk still holds and sselfie cannot remove.
  remaining    jsonb NOT NULL DEFAULT '[]'::jsonb,
  started_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  CONSTRAINT erased_is_finished CHECK ((status = 'erased') = (finished_at IS NOT NULL))
);
-- At most one erasure in progress per user: a rerun resumes it.
CREATE UNIQUE INDEX erasures_one_open_per_user ON :SCHEMA.erasures (user_id) WHERE status = 'erasing';
CREATE INDEX erasures_user ON :SCHEMA.erasures (user_id, started_at);
