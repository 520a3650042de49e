/**
 * The two files `prepare` writes beside the images. A prepared folder passed back to `prepare`
 * (or to `train`) skips them, so that preparing a prepared set changes nothing.
 */
export const MANIFEST_FILE = "manifest.json";
export const CONTACT_SHEET_FILE = "contact-sheet.png";

export function isPrepareOutputFile(name: string): boolean {
  return name === MANIFEST_FILE || name === CONTACT_SHEET_FILE;
}
