-- sselfie schema, version 7: what each training and generation cost, and budgets that cap it.
-- `:SCHEMA` is the quoted schema name.

-- Recorded when a row reaches a final state: Replicate's metrics, the price per second used then
-- (a later price change never rewrites it), and cost_usd = predict_time x price_per_second, exact.
-- estimate_usd is what was reserved against the user's budget when the row was created; it is
-- held (counted in user_spending.reserved_usd) while the row is unfinished.
ALTER TABLE :SCHEMA.trainings
  ADD COLUMN total_time double precision,
  ADD COLUMN price_per_second numeric CHECK (price_per_second > 0),
  ADD COLUMN cost_usd numeric CHECK (cost_usd >= 0),
  ADD COLUMN estimate_usd numeric NOT NULL DEFAULT 0 CHECK (estimate_usd >= 0);
ALTER TABLE :SCHEMA.generations
  ADD COLUMN total_time double precision,
  ADD COLUMN price_per_second numeric CHECK (price_per_second > 0),
  ADD COLUMN cost_usd numeric CHECK (cost_usd >= 0),
  ADD COLUMN estimate_usd numeric NOT NULL DEFAULT 0 CHECK (estimate_usd >= 0);

-- One row per user: the sum of cost_usd of their rows, and the sum of estimate_usd of their
-- unfinished rows. A reservation is one UPDATE of this row whose WHERE compares against the cap,
-- so concurrent reservations queue on the row lock and each sees the previous one's total.
CREATE TABLE :SCHEMA.user_spending (
  user_id       text PRIMARY KEY REFERENCES :SCHEMA.users (id),
  spent_usd     numeric NOT NULL DEFAULT 0 CHECK (spent_usd >= 0),
  reserved_usd  numeric NOT NULL DEFAULT 0 CHECK (reserved_usd >= 0)
);
INSERT INTO :SCHEMA.user_spending (user_id) SELECT id FROM :SCHEMA.users;

-- Caps in USD: a user's own (user_id), or the default for every user without one ('*').
-- No row for the user and no default: unlimited.
CREATE TABLE :SCHEMA.budgets (
  user_id     text PRIMARY KEY
              CHECK (user_id = '*' OR (length(user_id) BETWEEN 1 AND 50 AND user_id ~ '^[a-z0-9]+([._-][a-z0-9]+)*$')),
  usd         numeric NOT NULL CHECK (usd >= 0),
  operator    text,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- `sselfie costs` reads only these covering indexes (index-only scans), never the rows.
CREATE INDEX trainings_costs ON :SCHEMA.trainings (finished_at) INCLUDE (user_id, predict_time, cost_usd)
  WHERE price_per_second IS NOT NULL;
CREATE INDEX trainings_user_costs ON :SCHEMA.trainings (user_id, finished_at) INCLUDE (predict_time, cost_usd)
  WHERE price_per_second IS NOT NULL;
CREATE INDEX generations_costs ON :SCHEMA.generations (finished_at) INCLUDE (user_id, predict_time, cost_usd)
  WHERE price_per_second IS NOT NULL;
CREATE INDEX generations_user_costs ON :SCHEMA.generations (user_id, finished_at) INCLUDE (predict_time, cost_usd)
  WHERE price_per_second IS NOT NULL;
