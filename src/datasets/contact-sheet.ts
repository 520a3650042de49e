/**
 * contact-sheet.png: every image of the set as prepared, in a grid, each with its name, its face
 * box when the identity check found one, and its verdict, so that an operator sees at a glance
 * what would be uploaded. Drawn with sharp: thumbnails composited on a canvas, labels and boxes
 * as one SVG overlay.
 */
import { loadSharp } from "./prepare-image.js";
import type { PrepareReport } from "./types.js";

const THUMB = 220;
const PAD = 10;
const LABEL = 44;
const CELL_W = THUMB + 2 * PAD;
const CELL_H = THUMB + 2 * PAD + LABEL;
const MAX_COLUMNS = 6;

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** `written` maps an index of `report.images` to its prepared file. Resolves to the PNG's bytes. */
export async function drawContactSheet(report: PrepareReport, written: readonly { index: number; path: string }[]): Promise<Buffer> {
  const sharp = await loadSharp();
  const count = Math.max(1, report.images.length);
  const columns = Math.min(MAX_COLUMNS, count);
  const rows = Math.ceil(count / columns);
  const width = columns * CELL_W;
  const height = rows * CELL_H;
  const files = new Map(written.map((w) => [w.index, w.path]));

  const layers: { input: Buffer; left: number; top: number }[] = [];
  const svg: string[] = [];
  for (const [i, image] of report.images.entries()) {
    const x = (i % columns) * CELL_W;
    const y = Math.floor(i / columns) * CELL_H;
    const ok = image.problems.length === 0;
    const path = files.get(i);
    let thumbW = THUMB;
    let thumbH = THUMB;
    if (path) {
      const { data, info } = await sharp(path).resize(THUMB, THUMB, { fit: "inside" }).png().toBuffer({ resolveWithObject: true });
      thumbW = info.width;
      thumbH = info.height;
      const left = x + PAD + Math.floor((THUMB - thumbW) / 2);
      const top = y + PAD + Math.floor((THUMB - thumbH) / 2);
      layers.push({ input: data, left, top });
      if (image.face && image.width) {
        const scale = thumbW / image.width;
        const [fx, fy, fw, fh] = image.face.box;
        svg.push(
          `<rect x="${left + fx * scale}" y="${top + fy * scale}" width="${fw * scale}" height="${fh * scale}" fill="none" stroke="${ok ? "#1a9c3a" : "#d0021b"}" stroke-width="2"/>`,
        );
      }
    } else {
      svg.push(`<rect x="${x + PAD}" y="${y + PAD}" width="${THUMB}" height="${THUMB}" fill="#eeeeee"/>`);
      svg.push(`<text x="${x + PAD + THUMB / 2}" y="${y + PAD + THUMB / 2}" text-anchor="middle" font-family="sans-serif" font-size="14" fill="#888888">not prepared</text>`);
    }
    const frame = ok ? "#1a9c3a" : "#d0021b";
    svg.push(`<rect x="${x + 3}" y="${y + 3}" width="${CELL_W - 6}" height="${CELL_H - 6}" fill="none" stroke="${frame}" stroke-width="${ok ? 1 : 3}"/>`);
    const title = escapeXml(clip(image.name ?? image.source, 32));
    // The face's distance to the set's reference face, where the identity check measured it.
    const distance = image.face?.distance == null ? "" : ` · face ${image.face.distance.toFixed(2)}`;
    const verdict = (ok ? "✓ ok" : `✗ ${image.problems.map((p) => p.code).join(", ")}`) + distance;
    svg.push(`<text x="${x + PAD}" y="${y + THUMB + 2 * PAD + 14}" font-family="sans-serif" font-size="13" fill="#222222">${title}</text>`);
    svg.push(
      `<text x="${x + PAD}" y="${y + THUMB + 2 * PAD + 32}" font-family="sans-serif" font-size="13" font-weight="bold" fill="${frame}">${escapeXml(clip(verdict, 32))}</text>`,
    );
  }
  const overlay = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${svg.join("")}</svg>`);
  return sharp({ create: { width, height, channels: 3, background: "#ffffff" } })
    .composite([...layers, { input: overlay, left: 0, top: 0 }])
    .removeAlpha()
    .png()
    .toBuffer();
}
