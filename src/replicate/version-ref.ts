import { InvalidInputError } from "../errors.js";
import { VERSION_REF_PATTERN } from "./statuses.js";

export interface VersionRef {
  owner: string;
  name: string;
  versionId: string;
}

/** `owner/name:<64 hex>` (what a succeeded training's `output.version` holds) into its parts. */
export function parseVersionRef(ref: string): VersionRef {
  const m = VERSION_REF_PATTERN.exec(typeof ref === "string" ? ref.trim() : "");
  if (!m) {
    throw new InvalidInputError(`Invalid model version reference ${JSON.stringify(ref)}: expected owner/name:<64 hex characters>.`, {
      ref,
    });
  }
  return { owner: m[1]!, name: m[2]!, versionId: m[3]! };
}
