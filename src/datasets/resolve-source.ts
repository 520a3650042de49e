/** What `--images` points at: a folder, a zip (by content, whatever its name), or something else. */
import { open, realpath, stat } from "node:fs/promises";
import { describeOtherContent, sniffSourceFormat, SNIFF_BYTES } from "./image-format.js";

export interface Source {
  readonly kind: "folder" | "zip";
  readonly path: string;
}

const ZIP_SIGNATURES = ["PK\x03\x04", "PK\x05\x06"];

async function readHead(path: string): Promise<Buffer> {
  const head = Buffer.alloc(SNIFF_BYTES);
  const handle = await open(path, "r");
  try {
    const { bytesRead } = await handle.read(head, 0, SNIFF_BYTES, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The source's kind and real path, or why it is neither a folder nor a zip. */
export async function resolveSource(inputPath: string): Promise<Source | string> {
  let path: string;
  let head: Buffer;
  try {
    path = await realpath(inputPath);
    const st = await stat(path);
    if (st.isDirectory()) return { kind: "folder", path };
    if (!st.isFile()) return "is neither a folder nor a .zip file";
    head = await readHead(path);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ENOENT" || code === "ENOTDIR") return "does not exist";
    return `cannot be read (${(err as Error).message})`;
  }
  if (ZIP_SIGNATURES.includes(head.subarray(0, 4).toString("latin1"))) return { kind: "zip", path };
  if (sniffSourceFormat(head)) return "is a single image: pass the folder that holds the images, or a .zip of them";
  const kind = describeOtherContent(head);
  return `is neither a folder nor a .zip file${kind ? ` (it is ${kind})` : ""}`;
}
