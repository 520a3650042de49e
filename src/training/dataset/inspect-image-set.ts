/**
 * Checks a folder or zip of training images completely before anything is uploaded or paid for,
 * and reports every problem at once (INVALID_IMAGES, exit 2), each naming its file.
 */
import { classifyName, collisionKey, hasImageExtension, IMAGE_EXTENSIONS, nameProblem, stemOf } from "./entry-names.js";
import { formatBytes } from "./format-bytes.js";
import { invalidImages } from "./invalid-images.js";
import { resolveLimits, type DatasetLimits } from "./limits.js";
import { listFolder } from "./list-folder.js";
import { listZip } from "./list-zip.js";
import type { Candidate, Listing } from "./listing.js";
import { readCaption, readImage, type ReadCaps } from "./read-checked.js";
import { resolveSource } from "./resolve-source.js";
import type { DatasetCaption, DatasetImage, ImageSet, ImageSetProblem } from "./types.js";
import { storedZipSize } from "./zip-layout.js";

export interface InspectOptions {
  /** Tighter or looser limits than DEFAULT_DATASET_LIMITS (tests; a trainer with other rules). */
  readonly limits?: Partial<DatasetLimits>;
}

const FORMAT_NAMES = { jpeg: "JPEG", png: "PNG", webp: "WebP" } as const;

/**
 * Reads and checks every file of a folder or `.zip`: each must be a JPEG, PNG or WebP by content,
 * complete, with a shorter side of at least `minShortSide` px; no two identical; at least
 * `minImages`; the whole small enough for one upload. Optional `<image stem>.txt` captions are
 * kept. Resolves to the checked set, or rejects with one InvalidInputError (code INVALID_IMAGES)
 * whose `details.problems` lists every problem as `{ file, problem }`.
 */
export async function inspectImageSet(inputPath: string, options: InspectOptions = {}): Promise<ImageSet> {
  if (typeof inputPath !== "string" || inputPath.trim() === "") {
    throw invalidImages("(no path)", [{ file: "--images", problem: "is required: a folder of images, or a .zip of them" }]);
  }
  const limits = resolveLimits(options.limits);
  const source = await resolveSource(inputPath);
  if (typeof source === "string") throw invalidImages(inputPath, [{ file: inputPath, problem: source }]);

  const listing = source.kind === "folder" ? await listFolder(source.path, limits) : await listZip(source.path, limits);
  try {
    const found = await checkListing(listing, limits);
    const setProblems = [...listing.fatal, ...found.setProblems].map((problem) => ({ file: inputPath, problem }));
    const problems = [...sortByFile([...listing.problems, ...found.problems]), ...setProblems];
    if (problems.length > 0) throw invalidImages(inputPath, problems);
    const totalBytes = [...found.images, ...found.captions].reduce((sum, f) => sum + f.size, 0);
    return Object.freeze({
      source,
      images: found.images,
      captions: found.captions,
      ignored: [...listing.ignored],
      totalBytes,
      zipSize: storedZipSize([...found.images, ...found.captions]),
    });
  } finally {
    await listing.close();
  }
}

function sortByFile(problems: ImageSetProblem[]): ImageSetProblem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.file < b.p.file ? -1 : a.p.file > b.p.file ? 1 : a.i - b.i))
    .map(({ p }) => p);
}

function byName<T extends { name: string }>(a: T, b: T): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

interface Found {
  images: DatasetImage[];
  captions: DatasetCaption[];
  problems: ImageSetProblem[];
  setProblems: string[];
}

/** Problems found so far, and which candidates they concern (those are not packaged). */
class Findings {
  readonly problems: ImageSetProblem[] = [];
  private readonly flagged = new Set<Candidate>();

  flag(c: Candidate, problem: string): void {
    this.flagged.add(c);
    this.problems.push({ file: c.origin, problem });
  }

  has(c: Candidate): boolean {
    return this.flagged.has(c);
  }
}

/** Name rules: captions and what they caption, names that are unusable or would collide. */
function checkNames(candidates: readonly Candidate[], findings: Findings): void {
  const imageStems = new Set(
    candidates.filter((c) => classifyName(c.name) === "image" && hasImageExtension(c.name)).map((c) => stemOf(c.name)),
  );
  const byKey = new Map<string, Candidate>();
  for (const c of candidates) {
    const kind = classifyName(c.name);
    const stem = stemOf(c.name);
    if (kind === "misnamed-caption") {
      findings.flag(c, `captions must end in lowercase .txt (the trainer reads "${stem}.txt"): rename it`);
    } else if (kind === "caption" && !imageStems.has(stem)) {
      findings.flag(c, `is a caption for no image: there is no ${IMAGE_EXTENSIONS.map((e) => stem + e).join(", ")}`);
    }
    const bad = nameProblem(c.name);
    if (bad !== undefined) findings.flag(c, bad);
    const key = collisionKey(c.name);
    const first = byKey.get(key);
    if (first) findings.flag(c, `has the same name as ${first.origin} once upper and lower case are not told apart: rename one`);
    else byKey.set(key, c);
  }
}

/** Checks an image's size and name against what the trainer needs. */
function checkImage(c: Candidate, image: DatasetImage, limits: DatasetLimits, findings: Findings): void {
  const { width, height } = image;
  if (Math.min(width, height) < limits.minShortSide) {
    findings.flag(c, `is ${width}x${height} px: its shorter side is under the ${limits.minShortSide} px the trainer needs`);
  }
  if (width * height > limits.maxPixels) {
    findings.flag(
      c,
      `is ${width}x${height} px, over ${limits.maxPixels / 1_000_000} megapixels: scale it down (the trainer uses 1024 px at most)`,
    );
  }
  if (!hasImageExtension(c.name)) {
    findings.flag(
      c,
      `is a ${FORMAT_NAMES[image.format]} whose name does not end in ${IMAGE_EXTENSIONS.join(", ")}, so the trainer would skip it: rename it`,
    );
  }
}

/** Why a file should not even be read, judging by the sizes its source declares. */
function refuseUnread(c: Candidate, maxBytes: number, limits: DatasetLimits): string | undefined {
  const what = classifyName(c.name) === "image" ? "an image" : "a caption";
  if (c.size > maxBytes) return `is ${formatBytes(c.size)}, larger than the ${formatBytes(maxBytes)} allowed for ${what}`;
  if (c.zip && c.size > limits.compressionRatioFloor && c.size > c.zip.compressedSize * limits.maxCompressionRatio) {
    return (
      `declares ${formatBytes(c.size)} compressed into ${formatBytes(c.zip.compressedSize)}, ` +
      `more than ${limits.maxCompressionRatio} to 1 (a zip bomb?)`
    );
  }
  return undefined;
}

async function checkListing(listing: Listing, limits: DatasetLimits): Promise<Found> {
  const found: Found = { images: [], captions: [], problems: [], setProblems: [] };
  if (listing.fatal.length > 0) return found;
  const findings = new Findings();
  checkNames(listing.candidates, findings);

  const images = listing.candidates.filter((c) => classifyName(c.name) === "image");
  const captions = listing.candidates.filter((c) => classifyName(c.name) === "caption" && !findings.has(c));
  const bySha = new Map<string, DatasetImage>();
  let bytesRead = 0;
  let stopped = false;
  for (const c of [...images, ...captions]) {
    const isImage = classifyName(c.name) === "image";
    const maxBytes = isImage ? limits.maxImageBytes : limits.maxCaptionBytes;
    const refusal = refuseUnread(c, maxBytes, limits);
    if (refusal !== undefined) {
      findings.flag(c, refusal);
      continue;
    }
    if (bytesRead + c.size > limits.maxBytesRead) {
      stopped = true;
      break;
    }
    const caps: ReadCaps = {
      maxBytes: Math.min(maxBytes, limits.maxBytesRead - bytesRead),
      ...(c.zip && { zip: { ...c.zip, maxRatio: limits.maxCompressionRatio, ratioFloor: limits.compressionRatioFloor } }),
    };
    const open = () => listing.open(c);
    const file = { name: c.name, origin: c.origin, location: c.location };

    if (!isImage) {
      const read = await readCaption(open, caps);
      bytesRead += read.bytesRead;
      if (!read.ok) findings.flag(c, read.problem);
      else found.captions.push({ ...file, size: read.size, sha256: read.sha256, imageName: "", text: read.value });
      continue;
    }

    const read = await readImage(open, caps);
    bytesRead += read.bytesRead;
    if (!read.ok) {
      findings.flag(c, read.problem);
      continue;
    }
    const image: DatasetImage = { ...file, size: read.size, sha256: read.sha256, ...read.value };
    checkImage(c, image, limits, findings);
    const twin = bySha.get(image.sha256);
    if (twin) findings.flag(c, `is byte-identical to ${twin.origin}: remove one of the two`);
    else bySha.set(image.sha256, image);
    if (!findings.has(c)) found.images.push(image);
  }
  found.problems = findings.problems;

  if (stopped) {
    found.setProblems.push(
      `stopped reading after ${formatBytes(bytesRead)}: the set is far larger than the ${formatBytes(limits.maxZipBytes)} that can be uploaded`,
    );
    return found;
  }
  const usable = found.images.length;
  if (usable < limits.minImages) {
    found.setProblems.push(
      usable === images.length
        ? `holds ${usable} image${usable === 1 ? "" : "s"}; the trainer needs at least ${limits.minImages}`
        : `only ${usable} of its ${images.length} image files are usable; the trainer needs at least ${limits.minImages}`,
    );
  }
  const zipSize = storedZipSize(listing.candidates);
  if (zipSize > limits.maxZipBytes) {
    found.setProblems.push(
      `the upload zip would be ${formatBytes(zipSize)}, over Replicate's ${formatBytes(limits.maxZipBytes)} file limit: ` +
        "use fewer or smaller images (the trainer uses 1024 px at most)",
    );
  }

  const imageByStem = new Map(found.images.map((i) => [stemOf(i.name), i.name]));
  found.captions = found.captions.map((cap) => ({ ...cap, imageName: imageByStem.get(stemOf(cap.name)) ?? "" })).sort(byName);
  found.images.sort(byName);
  return found;
}
