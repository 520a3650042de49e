-- sselfie schema, version 8: the identity check (CONTRACT.md "Identity: one person, the right person").
--
-- user_models.face_reference: the mean face descriptor (128 numbers) of the photo set that trained
-- the user's active version; a new set of that user must match it. face_reference_pending: the set
-- of the training in flight, which becomes the reference when that training completes (a failed or
-- canceled training leaves the reference of the model the user still has). Biometric data: never
-- printed, compared only with the same user's sets, deleted with the user's row.
ALTER TABLE :SCHEMA.user_models ADD COLUMN face_reference real[]
  CONSTRAINT user_models_face_reference_size CHECK (face_reference IS NULL OR cardinality(face_reference) = 128);
ALTER TABLE :SCHEMA.user_models ADD COLUMN face_reference_pending real[]
  CONSTRAINT user_models_face_reference_pending_size CHECK (face_reference_pending IS NULL OR cardinality(face_reference_pending) = 128);

-- trainings.identity_check: 'passed' (one person throughout, and the user's reference matched or
-- there was none), 'replaced' (the set is someone else than the reference and the operator said
-- --replace-identity). NULL: nothing vouches for the set's faces (rows from before this version).
ALTER TABLE :SCHEMA.trainings ADD COLUMN identity_check text
  CONSTRAINT trainings_identity_check_value CHECK (identity_check IN ('passed', 'replaced'));
