/**
 * Prepares a folder or zip of photos into a folder of upload-ready JPEGs and one report that lists
 * every problem of every file and of the set at once. Sources are read with bounded memory (at
 * most `concurrency` files in memory and decoding at once, each capped in size, pixels and zip
 * expansion); the per-image and per-set checks (DatasetChecks) run inside the same pipeline.
 */
import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createSemaphore } from "../replicate/semaphore.js";
import { classifyName } from "./entry-names.js";
import { formatBytes } from "./format-bytes.js";
import { listFolder } from "./list-folder.js";
import { listZip } from "./list-zip.js";
import type { Candidate, Listing } from "./listing.js";
import { readBytes, type ReadCaps } from "./read-checked.js";
import { resolveSource } from "./resolve-source.js";
import { storedZipSize } from "./zip-layout.js";
import { preparedName, positionWidth } from "./image-names.js";
import { resolvePrepareLimits, type PrepareLimits } from "./limits.js";
import { isPrepareOutputFile } from "./output-files.js";
import { prepareImage } from "./prepare-image.js";
import { count } from "../plural.js";
import type {
  DatasetChecks,
  DatasetProblem,
  DatasetSummary,
  FaceInfo,
  MetadataKind,
  PreparedImageReport,
  PreparedSet,
  PrepareProgress,
  SourceFormat,
} from "./types.js";

export interface PrepareSetOptions {
  /** An existing, empty folder that receives the prepared images. */
  readonly dir: string;
  readonly checks?: DatasetChecks<unknown> | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((progress: PrepareProgress) => void) | undefined;
  readonly limits?: Partial<PrepareLimits> | undefined;
}

interface Slot {
  source: string;
  sourceSha256: string | null;
  name: string | null;
  sha256: string | null;
  format: SourceFormat | null;
  width: number | null;
  height: number | null;
  sourceWidth: number | null;
  sourceHeight: number | null;
  rotated: boolean;
  metadataRemoved: MetadataKind[];
  converted: boolean;
  face: FaceInfo | null;
  problems: DatasetProblem[];
  path: string | null;
  size: number;
  data: unknown;
}

const problem = (code: string, message: string): DatasetProblem => ({ code, message });

function emptySlot(source: string): Slot {
  return {
    source,
    sourceSha256: null,
    name: null,
    sha256: null,
    format: null,
    width: null,
    height: null,
    sourceWidth: null,
    sourceHeight: null,
    rotated: false,
    metadataRemoved: [],
    converted: false,
    face: null,
    problems: [],
    path: null,
    size: 0,
    data: undefined,
  };
}

function toReport(s: Slot): PreparedImageReport {
  const { path: _path, size: _size, data: _data, ...report } = s;
  return report;
}

/** Why a file is not read at all, judging by the sizes its folder or zip declares. */
function refuseUnread(c: Candidate, limits: PrepareLimits): DatasetProblem | undefined {
  if (c.size > limits.maxImageBytes) {
    return problem("FILE_TOO_LARGE", `is ${formatBytes(c.size)}, over the ${formatBytes(limits.maxImageBytes)} allowed for a photo: export it smaller`);
  }
  if (c.zip && c.size > limits.compressionRatioFloor && c.size > c.zip.compressedSize * limits.maxCompressionRatio) {
    return problem(
      "ZIP_BOMB",
      `declares ${formatBytes(c.size)} compressed into ${formatBytes(c.zip.compressedSize)}, more than ${limits.maxCompressionRatio} to 1 (a zip bomb?): zip the photos themselves`,
    );
  }
  return undefined;
}

function readProblem(text: string): DatasetProblem {
  if (/zip bomb/.test(text)) return problem("ZIP_BOMB", text);
  if (/larger than/.test(text)) return problem("FILE_TOO_LARGE", text);
  return problem("UNREADABLE", text);
}

function setFailure(problems: DatasetProblem[], dir: string, images: Slot[] = []): PreparedSet {
  return finish(images, problems, dir);
}

function summarise(usable: readonly Slot[]): DatasetSummary {
  return {
    count: usable.length,
    converted: usable.filter((s) => s.converted).length,
    resized: usable.filter((s) => s.width !== s.sourceWidth || s.height !== s.sourceHeight).length,
    rotated: usable.filter((s) => s.rotated).length,
    metadataRemoved: usable.filter((s) => s.metadataRemoved.length > 0).length,
    zipBytes: storedZipSize(usable.map((s) => ({ name: s.name!, size: s.size }))),
  };
}

function finish(slots: Slot[], setProblems: DatasetProblem[], dir: string): PreparedSet {
  const usable = slots.filter((s) => s.problems.length === 0 && s.path !== null);
  const report = {
    ok: setProblems.length === 0 && usable.length === slots.length,
    count: usable.length,
    images: slots.map(toReport),
    problems: setProblems,
  };
  return {
    report,
    dir,
    files: usable.map((s) => ({ name: s.name!, path: s.path!, size: s.size, sha256: s.sha256! })),
    written: slots.flatMap((s, index) => (s.path ? [{ index, path: s.path }] : [])),
    summary: summarise(usable),
  };
}

function markDuplicates(slots: readonly Slot[], key: "sourceSha256" | "sha256", code: string, what: string): void {
  const first = new Map<string, Slot>();
  for (const s of slots) {
    const value = s[key];
    if (value === null || s.problems.some((p) => p.code === "DUPLICATE")) continue;
    const twin = first.get(value);
    if (twin) s.problems.push(problem(code, `${what} ${twin.source}: remove one of the two`));
    else first.set(value, s);
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason ?? new DOMException("This operation was aborted", "AbortError");
}

async function listSource(path: string, kind: "folder" | "zip", limits: PrepareLimits): Promise<Listing> {
  return kind === "folder" ? listFolder(path, limits) : listZip(path, limits);
}

export async function prepareImageSet(inputPath: string, options: PrepareSetOptions): Promise<PreparedSet> {
  const { dir, checks, signal, onProgress } = options;
  const limits = resolvePrepareLimits(options.limits);
  throwIfAborted(signal);
  const source = await resolveSource(inputPath);
  if (typeof source === "string") return setFailure([problem("SOURCE_UNUSABLE", `${inputPath} ${source}`)], dir);

  const listing = await listSource(source.path, source.kind, limits);
  try {
    if (listing.fatal.length > 0) return setFailure(listing.fatal.map((f) => problem("SOURCE_UNUSABLE", `${inputPath} ${f}`)), dir);
    // Captions are not supported yet: `name.txt` files are skipped like the rest of the clutter.
    const candidates = listing.candidates.filter((c) => classifyName(c.name) === "image" && !isPrepareOutputFile(c.name));
    const fileCount = candidates.length + listing.problems.length;
    if (fileCount > limits.maxFiles) {
      return setFailure(
        [problem("TOO_MANY_FILES", `${inputPath} holds ${fileCount} files; a set has at most ${limits.maxFiles}: keep the best photos only`)],
        dir,
      );
    }

    const sorted = [...candidates].sort((a, b) => (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0));
    const width = positionWidth(sorted.length);
    const slots = new Map<Candidate, Slot>(sorted.map((c) => [c, emptySlot(c.origin)]));
    const refusedEntries = listing.problems.map((p) => ({ ...emptySlot(p.file), problems: [problem("UNUSABLE_FILE", p.problem)] }));

    const semaphore = createSemaphore(limits.concurrency);
    let done = 0;
    let budget = limits.maxBytesRead;
    let overBudget = false;
    onProgress?.({ done, total: sorted.length });

    const work = async (c: Candidate, position: number): Promise<void> => {
      const slot = slots.get(c)!;
      const release = await semaphore.acquire();
      try {
        if (signal?.aborted) return;
        const refusal = refuseUnread(c, limits);
        if (refusal) {
          slot.problems.push(refusal);
          return;
        }
        if (c.size > budget) {
          overBudget = true;
          slot.problems.push(problem("NOT_READ", `was not read: the set is far larger than a photo set can be (${formatBytes(limits.maxBytesRead)} read)`));
          return;
        }
        budget -= c.size;
        const caps: ReadCaps = {
          maxBytes: limits.maxImageBytes,
          ...(c.zip && { zip: { ...c.zip, maxRatio: limits.maxCompressionRatio, ratioFloor: limits.compressionRatioFloor } }),
        };
        const read = await readBytes(() => listing.open(c), caps);
        budget += c.size - read.bytesRead;
        if (!read.ok) {
          slot.problems.push(readProblem(read.problem));
          return;
        }
        slot.sourceSha256 = read.sha256;
        const prepared = await prepareImage(read.value, limits);
        slot.format = prepared.format;
        slot.sourceWidth = prepared.sourceWidth;
        slot.sourceHeight = prepared.sourceHeight;
        if (!prepared.ok) {
          slot.problems.push(prepared.problem);
          return;
        }
        if (signal?.aborted) return;
        const name = preparedName(c.origin, position, width);
        const path = join(dir, name);
        await writeFile(path, prepared.jpeg, { flag: "wx" });
        Object.assign(slot, {
          name,
          path,
          size: prepared.jpeg.length,
          sha256: createHash("sha256").update(prepared.jpeg).digest("hex"),
          width: prepared.width,
          height: prepared.height,
          rotated: prepared.rotated,
          metadataRemoved: [...prepared.metadataRemoved],
          converted: prepared.converted,
        });
        if (checks?.checkImage) {
          const checked = await checks.checkImage({
            index: position - 1,
            name,
            path,
            jpeg: prepared.jpeg,
            width: prepared.width,
            height: prepared.height,
            ...(signal && { signal }),
          });
          slot.face = checked.face;
          slot.problems.push(...checked.problems);
          slot.data = checked.data;
        }
      } finally {
        release();
        done += 1;
        onProgress?.({ done, total: sorted.length, source: c.origin });
      }
    };
    const results = await Promise.allSettled(sorted.map((c, i) => work(c, i + 1)));
    throwIfAborted(signal);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;

    const ordered = [...slots.values()];
    markDuplicates(ordered, "sourceSha256", "DUPLICATE", "is byte-identical to");
    markDuplicates(ordered, "sha256", "DUPLICATE", "is identical, once prepared, to");

    const setProblems: DatasetProblem[] = [];
    if (checks?.checkSet) {
      const eligible = ordered.map((s, index) => ({ s, index })).filter(({ s }) => s.problems.length === 0 && s.path);
      const checked = await checks.checkSet(
        eligible.map(({ s, index }) => ({ index, name: s.name!, face: s.face, data: s.data })),
        { ...(signal && { signal }) },
      );
      for (const r of checked.images) {
        const s = ordered[r.index];
        if (!s) continue;
        if (r.face !== undefined) s.face = r.face;
        if (r.problems) s.problems.push(...r.problems);
      }
      setProblems.push(...checked.problems);
      throwIfAborted(signal);
    }

    const all = [...ordered, ...refusedEntries].sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
    const usable = ordered.filter((s) => s.problems.length === 0 && s.path);
    if (overBudget) {
      setProblems.push(problem("SET_TOO_LARGE", `stopped reading after ${formatBytes(limits.maxBytesRead)}: use fewer photos`));
    }
    if (usable.length < limits.minImages) {
      setProblems.push(
        problem(
          "TOO_FEW_IMAGES",
          usable.length === all.length
            ? `the set holds ${count(usable.length, "usable photo")}; the trainer needs at least ${limits.minImages}: add more`
            : `only ${usable.length} of its ${count(all.length, "file")} ${usable.length === 1 ? "is a usable photo" : "are usable photos"}; the trainer needs at least ${limits.minImages}: fix or replace the others`,
        ),
      );
    }
    const zipBytes = storedZipSize(usable.map((s) => ({ name: s.name!, size: s.size })));
    if (zipBytes > limits.maxZipBytes) {
      setProblems.push(
        problem("ZIP_TOO_LARGE", `the zip of prepared photos would be ${formatBytes(zipBytes)}, over Replicate's ${formatBytes(limits.maxZipBytes)}: use fewer photos`),
      );
    }
    return finish(all, setProblems, dir);
  } finally {
    await listing.close();
  }
}
