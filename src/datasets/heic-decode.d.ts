/** heic-decode ships no types: libheif (WebAssembly) decoding of a HEIC's images to RGBA. */
declare module "heic-decode" {
  interface DecodedImage {
    width: number;
    height: number;
    data: Uint8ClampedArray;
  }
  interface ImageHandle {
    width: number;
    height: number;
    decode(): Promise<DecodedImage>;
  }
  interface Decode {
    (input: { buffer: Uint8Array }): Promise<DecodedImage>;
    all(input: { buffer: Uint8Array }): Promise<ImageHandle[] & { dispose(): void }>;
  }
  const decode: Decode;
  export default decode;
}
