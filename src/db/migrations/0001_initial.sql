-- sselfie schema, version 1. `:SCHEMA` is replaced by the quoted schema name.

CREATE TABLE :SCHEMA.users (
  id          text PRIMARY KEY
              CHECK (length(id) BETWEEN 1 AND 50 AND id ~ '^[a-z0-9]+([._-][a-z0-9]+)*$'),
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE :SCHEMA.user_models (
  user_id               text PRIMARY KEY REFERENCES :SCHEMA.users (id),
  replicate_model_id    text NOT NULL UNIQUE
                        CHECK (split_part(replicate_model_id, '/', 1) <> ''
                               AND replicate_model_id = split_part(replicate_model_id, '/', 1) || '/' || user_id || '-selfie-lora'),
  replicate_version_id  text CHECK (replicate_version_id ~ '^[0-9a-f]{64}$'),
  trigger_word          text NOT NULL CHECK (trigger_word = 'user' || user_id),
  training_status       text NOT NULL DEFAULT 'pending'
                        CHECK (training_status IN ('pending', 'training', 'completed', 'failed', 'canceled')),
  current_training_id   text,
  error                 text,
  version_updated_at    timestamptz,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT completed_has_version CHECK (training_status <> 'completed' OR replicate_version_id IS NOT NULL)
);

CREATE TABLE :SCHEMA.trainings (
  id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id                text NOT NULL REFERENCES :SCHEMA.users (id),
  replicate_training_id  text UNIQUE,
  trainer_version        text NOT NULL,
  destination            text NOT NULL,
  input                  jsonb NOT NULL,
  input_images_url       text,
  manifest               jsonb,
  status                 text NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'training', 'completed', 'failed', 'canceled')),
  replicate_status       text,
  output_version         text,
  progress               jsonb,
  predict_time           double precision,
  error                  text,
  operator               text,
  created_at             timestamptz NOT NULL DEFAULT now(),
  started_at             timestamptz,
  finished_at            timestamptz,
  updated_at             timestamptz NOT NULL DEFAULT now()
);
-- One active training per user, enforced by the database itself.
CREATE UNIQUE INDEX trainings_one_active_per_user ON :SCHEMA.trainings (user_id)
  WHERE status IN ('pending', 'training');
CREATE INDEX trainings_user_created ON :SCHEMA.trainings (user_id, created_at DESC);

CREATE TABLE :SCHEMA.model_version_schemas (
  version_id   text PRIMARY KEY CHECK (version_id ~ '^[0-9a-f]{64}$'),
  model_id     text NOT NULL,
  input_schema jsonb NOT NULL,
  fetched_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE :SCHEMA.generations (
  id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id              text NOT NULL REFERENCES :SCHEMA.users (id),
  version_ref          text NOT NULL,
  prompt               text NOT NULL,
  input                jsonb NOT NULL,
  input_hash           text NOT NULL CHECK (input_hash ~ '^[0-9a-f]{64}$'),
  seed                 integer NOT NULL CHECK (seed BETWEEN 0 AND 999999),
  status               text NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'unknown', 'starting', 'processing', 'succeeded', 'failed', 'canceled', 'aborted')),
  replicate_prediction_id text UNIQUE,
  outputs              jsonb,
  error                text,
  predict_time         double precision,
  operator             text,
  created_at           timestamptz NOT NULL DEFAULT now(),
  finished_at          timestamptz,
  updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX generations_user_created ON :SCHEMA.generations (user_id, created_at DESC);

CREATE TABLE :SCHEMA.operators (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name          text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
  token_hash    text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  token_prefix  text NOT NULL,
  scopes        text[] NOT NULL
                CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['read', 'train', 'generate', 'admin']::text[]),
  created_at    timestamptz NOT NULL DEFAULT now(),
  revoked_at    timestamptz,
  last_used_at  timestamptz
);

CREATE TABLE :SCHEMA.operator_events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  operator    text,
  action      text NOT NULL,
  user_id     text,
  outcome     text NOT NULL DEFAULT 'ok' CHECK (outcome IN ('ok', 'refused', 'failed')),
  details     jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX operator_events_user ON :SCHEMA.operator_events (user_id, created_at);

CREATE FUNCTION :SCHEMA.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'operator_events is append-only';
END;
$$;
CREATE TRIGGER operator_events_append_only BEFORE UPDATE OR DELETE ON :SCHEMA.operator_events
  FOR EACH ROW EXECUTE FUNCTION :SCHEMA.refuse_change();
CREATE TRIGGER operator_events_no_truncate BEFORE TRUNCATE ON :SCHEMA.operator_events
  FOR EACH STATEMENT EXECUTE FUNCTION :SCHEMA.refuse_change();

CREATE TABLE :SCHEMA.webhook_deliveries (
  webhook_id   text PRIMARY KEY,
  kind         text NOT NULL,
  object_id    text,
  received_at  timestamptz NOT NULL DEFAULT now()
);
