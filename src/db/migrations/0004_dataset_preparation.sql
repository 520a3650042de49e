-- sselfie schema, version 4: every training records that its photo set passed preparation
-- (CONTRACT.md "Preparing a user's photos"), and what preparation did to it (the `dataset` summary
-- of `train --json`). Rows from before preparation existed keep `false`: nothing vouches for them.
ALTER TABLE :SCHEMA.trainings ADD COLUMN dataset_prepared boolean NOT NULL DEFAULT false;
ALTER TABLE :SCHEMA.trainings ADD COLUMN dataset jsonb;
ALTER TABLE :SCHEMA.trainings ADD CONSTRAINT trainings_dataset_recorded CHECK (NOT dataset_prepared OR dataset IS NOT NULL);
