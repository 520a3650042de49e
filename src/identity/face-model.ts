/**
 * The face model: @vladmandic/face-api (SSD MobileNet v1 detector, 68-point landmarks for
 * alignment, the 128-number face recognition net) on TensorFlow.js with the WebAssembly backend.
 * Weights come from the face-api package and the .wasm binaries from tfjs-backend-wasm, both in
 * node_modules: nothing is downloaded and no image leaves the machine. It is loaded on first use,
 * once per process (about 0.3 s and 13 MB of weights), so commands that never check faces never pay.
 */
import { createRequire } from "node:module";
import path from "node:path";
import { MIN_FACE_SCORE } from "./thresholds.js";
import type { RgbPixels } from "./face-pixels.js";

/** One face the detector found, in the pixel coordinates of the image it was given. */
export interface DetectedFace {
  /** [x, y, width, height]. */
  readonly box: readonly [number, number, number, number];
  /** Detector confidence, 0..1. */
  readonly score: number;
  /** 128 numbers; faces of one person are close in euclidean distance. */
  readonly descriptor: Float32Array;
}

export interface FaceModel {
  /** Every face with a detector score of at least MIN_FACE_SCORE, largest first. */
  detect(pixels: RgbPixels): Promise<DetectedFace[]>;
}

type FaceApi = typeof import("@vladmandic/face-api/dist/face-api.node-wasm.js");

let loading: Promise<FaceModel> | undefined;

/** The process's one face model, loaded on the first call. A failed load is retried next call. */
export function loadFaceModel(): Promise<FaceModel> {
  loading ??= load().catch((err: unknown) => {
    loading = undefined;
    throw err;
  });
  return loading;
}

async function load(): Promise<FaceModel> {
  const require = createRequire(import.meta.url);
  // The Emscripten runtime of the WebAssembly backend adds process-wide handlers that rethrow
  // every uncaught exception and unhandled rejection: a library must not change how its host
  // process fails, so whatever it adds is removed once the backend is up.
  const before = processHandlers();
  const tf = await import("@tensorflow/tfjs");
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  const faceapi = interop<FaceApi>(await import("@vladmandic/face-api/dist/face-api.node-wasm.js"));
  wasm.setWasmPaths(path.join(path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist") + path.sep);
  if (!(await tf.setBackend("wasm"))) throw new Error("TensorFlow.js could not start its WebAssembly backend");
  await tf.ready();
  removeHandlersAddedSince(before);
  const modelDir = path.join(path.dirname(require.resolve("@vladmandic/face-api/package.json")), "model");
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(modelDir);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(modelDir);
  await faceapi.nets.faceRecognitionNet.loadFromDisk(modelDir);
  const options = new faceapi.SsdMobilenetv1Options({ minConfidence: MIN_FACE_SCORE, maxResults: 20 });

  // One image at a time: concurrent calls would only multiply the WebAssembly heap.
  let queue: Promise<unknown> = Promise.resolve();
  const detect = async (pixels: RgbPixels): Promise<DetectedFace[]> => {
    const input = tf.tensor3d(pixels.data, [pixels.height, pixels.width, 3], "int32");
    try {
      const found = await faceapi.detectAllFaces(input as never, options).withFaceLandmarks().withFaceDescriptors();
      return found
        .map((f): DetectedFace => {
          const b = f.detection.box;
          return { box: [b.x, b.y, b.width, b.height], score: f.detection.score, descriptor: f.descriptor };
        })
        .sort((a, b) => b.box[3] - a.box[3]);
    } finally {
      input.dispose();
    }
  };
  return {
    detect(pixels) {
      const run = queue.then(() => detect(pixels));
      queue = run.catch(() => undefined);
      return run;
    },
  };
}

type Handler = (...args: unknown[]) => void;
const EVENTS = ["uncaughtException", "unhandledRejection"] as const;

function processHandlers(): Map<string, Set<Handler>> {
  return new Map(EVENTS.map((e) => [e, new Set(process.listeners(e as "uncaughtException") as Handler[])]));
}

function removeHandlersAddedSince(before: Map<string, Set<Handler>>): void {
  for (const e of EVENTS) {
    for (const l of process.listeners(e as "uncaughtException") as Handler[]) {
      if (!before.get(e)!.has(l)) process.removeListener(e, l);
    }
  }
}

/** face-api's node build is CommonJS: ESM sees it as `default` (and maybe as named exports too). */
function interop<T>(mod: T | { default: T }): T {
  return (mod as { default?: T }).default ?? (mod as T);
}
