-- sselfie schema, version 6: the pool of Replicate owners (CONTRACT.md, "Owners").
-- `:SCHEMA` is replaced by the quoted schema name.

-- One row per Replicate account or organisation that owns users' models. `token_env` is the NAME
-- of the environment variable holding that owner's API token, never the token. `used` is how many
-- users it holds: kept by the trigger below from user_models itself, so no code path can forget
-- it, and held to `capacity` by a CHECK, so no owner ever holds more users than its capacity,
-- whichever process places them. `implicit`: the owner sselfie used before any was added
-- (REPLICATE_OWNER or the account of REPLICATE_API_TOKEN); its token is REPLICATE_API_TOKEN.
-- `full_at`: Replicate refused a model because the account is at its limit (it holds models
-- sselfie does not know of); it gets no new users.
CREATE TABLE :SCHEMA.owners (
  name        text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$'),
  token_env   text NOT NULL CHECK (token_env ~ '^[A-Za-z_][A-Za-z0-9_]{0,127}$'),
  capacity    integer NOT NULL DEFAULT 1000 CHECK (capacity >= 0),
  used        integer NOT NULL DEFAULT 0 CHECK (used >= 0),
  status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'draining')),
  implicit    boolean NOT NULL DEFAULT false,
  full_at     timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT owners_within_capacity CHECK (used <= capacity)
);

-- A user's owner is the owner part of their model id, so the two can never disagree; a user is
-- placed by inserting their row (src/db/owners.ts, placeNewUser).
ALTER TABLE :SCHEMA.user_models
  ADD COLUMN owner text GENERATED ALWAYS AS (split_part(replicate_model_id, '/', 1)) STORED;
CREATE INDEX user_models_owner ON :SCHEMA.user_models (owner);

-- Users placed before this version belong to the owner they were placed on, which becomes an
-- implicit owner row with its true count.
INSERT INTO :SCHEMA.owners (name, token_env, capacity, used, implicit)
SELECT owner, 'REPLICATE_API_TOKEN', greatest(1000, count(*)), count(*), true
FROM :SCHEMA.user_models
WHERE owner ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$'
GROUP BY owner;

CREATE FUNCTION :SCHEMA.count_owner_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    UPDATE :SCHEMA.owners SET used = used - 1 WHERE name = OLD.owner;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    UPDATE :SCHEMA.owners SET used = used + 1 WHERE name = NEW.owner;
  END IF;
  RETURN NULL;
END;
$$;
CREATE TRIGGER user_models_count_owner_insert_delete AFTER INSERT OR DELETE ON :SCHEMA.user_models
  FOR EACH ROW EXECUTE FUNCTION :SCHEMA.count_owner_users();
CREATE TRIGGER user_models_count_owner_update AFTER UPDATE OF replicate_model_id ON :SCHEMA.user_models
  FOR EACH ROW WHEN (OLD.replicate_model_id IS DISTINCT FROM NEW.replicate_model_id)
  EXECUTE FUNCTION :SCHEMA.count_owner_users();

-- A user stays with their owner for good: the model id (and with it the owner) may change only
-- while the user has no trained version, which is when sselfie moves a user whose owner Replicate
-- refused to create the model for (src/training/start-training.ts).
CREATE FUNCTION :SCHEMA.keep_trained_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.replicate_version_id IS NOT NULL THEN
    RAISE EXCEPTION 'user % has a trained model at %; a user never changes owner', OLD.user_id, OLD.owner
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER user_models_keep_trained_owner BEFORE UPDATE OF replicate_model_id ON :SCHEMA.user_models
  FOR EACH ROW WHEN (OLD.replicate_model_id IS DISTINCT FROM NEW.replicate_model_id)
  EXECUTE FUNCTION :SCHEMA.keep_trained_owner();
