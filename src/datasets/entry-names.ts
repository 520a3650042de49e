/**
 * Rules about names: what is skipped as system clutter, which paths inside a zip are unsafe,
 * what counts as a caption, and which names would collide once unpacked.
 */

/** The trainer picks images by these extensions (any case) and reads `<stem>.txt` as the caption. */
export const IMAGE_EXTENSIONS = [".jpg", ".jpeg", ".png", ".webp"] as const;
export const CAPTION_EXTENSION = ".txt";

const SYSTEM_FILES = new Set(["thumbs.db", "desktop.ini"]);
const MAX_NAME_BYTES = 255;

/** Hidden files (`.DS_Store`, `._photo.jpg`, `.git`) and Windows' thumbnail caches are not input. */
export function isIgnoredName(name: string): boolean {
  return name.startsWith(".") || SYSTEM_FILES.has(name.toLowerCase());
}

/** A zip path under `__MACOSX/` or a hidden folder, or naming an ignored file. */
export function isIgnoredPath(path: string): boolean {
  const segments = path.split("/").filter((s) => s !== "");
  return segments.some((s, i) => (i === 0 && s === "__MACOSX") || isIgnoredName(s));
}

/** Why a path inside a zip could write outside the folder it is unpacked into, if it could. */
export function unsafeZipPath(path: string): string | undefined {
  if (path.includes("\0")) return "its name contains a NUL byte";
  if (path.includes("\\")) return "its name contains backslashes (a Windows path)";
  if (/^[A-Za-z]:/.test(path)) return "it is an absolute Windows path";
  if (path.startsWith("/")) return "it is an absolute path";
  if (path.split("/").includes("..")) return 'it climbs out of the archive ("..")';
  return undefined;
}

export function baseName(path: string): string {
  const parts = path.split("/").filter((s) => s !== "");
  return parts[parts.length - 1] ?? "";
}

export function stemOf(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(0, dot) : name;
}

export function hasImageExtension(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

export type NameKind = "image" | "caption" | "misnamed-caption";

/** `.txt` files are captions; `.TXT` would be skipped by the trainer; everything else must be an image. */
export function classifyName(name: string): NameKind {
  if (name.endsWith(CAPTION_EXTENSION) && name.length > CAPTION_EXTENSION.length) return "caption";
  if (name.toLowerCase().endsWith(CAPTION_EXTENSION)) return "misnamed-caption";
  return "image";
}

/** Two names that one file system would treat as the same file. */
export function collisionKey(name: string): string {
  return name.normalize("NFC").toLowerCase();
}

export function nameProblem(name: string): string | undefined {
  if (/[\u0000-\u001f\u007f]/.test(name)) return "its name contains control characters: rename it";
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) return `its name is longer than ${MAX_NAME_BYTES} bytes: rename it`;
  return undefined;
}
