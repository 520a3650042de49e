/**
 * The text test that spares most files the parser: every finding needs a call to Replicate, and
 * each way to make one names it in the file: the client (`replicate`, `Replicate`, an import from
 * "replicate"), the host (`api.replicate.com`) or the endpoint (`predictions`). A file with none of
 * these words cannot hold a finding.
 */
export function mayContainFinding(text: string): boolean {
  return text.includes("eplicate") || text.includes("predictions");
}
