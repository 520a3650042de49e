-- sselfie schema, version 9: who is doing unfinished work, so that another process can tell work
-- in progress from work left behind by a process that was killed. `:SCHEMA` is the quoted schema.

-- The process that claimed a `pending` training or is making a generation (src/process-holder.ts:
-- host, pid, boot id, pid namespace, start time; `exitedAt` once it gave the work up). NULL on rows
-- written before this version.
ALTER TABLE :SCHEMA.trainings ADD COLUMN holder jsonb;
ALTER TABLE :SCHEMA.generations ADD COLUMN holder jsonb;
