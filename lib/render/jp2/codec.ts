/**
 * OpenJPEG compiled to WebAssembly (@cornerstonejs/codec-openjpeg, decoder only): loaded on the
 * first decode, so a cold start that never meets a JPEG 2000 does not pay for it. The package
 * ships no types; the small interface below is all Recto uses, checked when the module loads.
 *
 * Its C++ side reports failures by printing "[ERROR] ..." and leaving the output empty, or by
 * throwing a C++ exception that reaches JavaScript as a bare number; both become errors here.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { SourceError, UnsupportedError, expected } from '../../errors.js';
import type { Size } from '../../iiif/types.js';

/** The package entry of the decode-only build (JS glue beside its .wasm). */
const PACKAGE = '@cornerstonejs/codec-openjpeg';
/**
 * Once a decode has grown the WebAssembly memory past this, the instance is dropped (its memory
 * cannot shrink) and the next decode starts a fresh one: about 15 ms against hundreds of MB kept.
 */
const KEEP_HEAP_BYTES = 256 * 1024 * 1024;
/** wasm32 as this build is linked: its heap cannot grow past 2 GiB. */
export const CODEC_HEAP_LIMIT = 2 * 1024 * 1024 * 1024;

interface FrameInfo {
  readonly width: number;
  readonly height: number;
  readonly bitsPerSample: number;
  readonly componentCount: number;
  readonly isSigned: boolean;
}

/** The embind class J2KDecoder, as far as Recto calls it. */
interface J2KDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  /** Decode at 1/2^level of full size; layer 0 means every quality layer. */
  decodeSubResolution(level: number, layer: number): void;
  getDecodedBuffer(): Uint8Array;
  getFrameInfo(): FrameInfo;
  calculateSizeAtDecompositionLevel(level: number): Size;
  /** Frees the C++ object and its buffers. */
  delete(): void;
}

interface CodecModule {
  readonly J2KDecoder: new () => J2KDecoder;
  readonly HEAPU8: Uint8Array;
}

interface ModuleOptions {
  readonly print: (line: string) => void;
  readonly printErr: (line: string) => void;
  readonly wasmBinary: Uint8Array;
}

type Factory = (options: ModuleOptions) => Promise<CodecModule>;

/** What one decode produced: interleaved samples, 1 byte each up to 8 bits, else 2 (host order). */
export interface CodecOutput {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly bytesPerSample: 1 | 2;
}

let loading: Promise<CodecModule> | undefined;
/** The codec's printed lines of the decode under way (decodes are synchronous: one at a time). */
let printed: string[] = [];

function isFactory(value: unknown): value is Factory {
  return typeof value === 'function';
}

function isCodecModule(value: unknown): value is CodecModule {
  return typeof value === 'object' && value !== null && 'J2KDecoder' in value && typeof value.J2KDecoder === 'function' && 'HEAPU8' in value;
}

async function load(): Promise<CodecModule> {
  const require = createRequire(import.meta.url);
  const factory: unknown = require(`${PACKAGE}/decodewasmjs`);
  if (!isFactory(factory)) throw new TypeError(`${PACKAGE}/decodewasmjs does not export a module factory`);
  // Handing the bytes over ourselves keeps the glue from guessing where the .wasm lies.
  const wasmBinary = readFileSync(require.resolve(`${PACKAGE}/decodewasm`));
  const module: unknown = await factory({ print: (line) => printed.push(line), printErr: (line) => printed.push(line), wasmBinary });
  if (!isCodecModule(module)) throw new TypeError(`${PACKAGE} did not give a J2KDecoder`);
  return module;
}

/** The codec, loaded (once) on first use. */
function codec(): Promise<CodecModule> {
  loading ??= load().catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

/**
 * Decode a codestream (J2K, or a JP2 file) at reduction `reduce`.
 *
 * @param expect the size the header predicts at that reduction: the output is checked against it
 * @throws SourceError `SOURCE_UNREADABLE` when OpenJPEG fails (its message is kept) or gives
 *   other than the predicted size.
 * @throws UnsupportedError `SOURCE_FORMAT_NOT_SUPPORTED` for what this build cannot output.
 */
export async function decodeCodestream(codestream: Buffer, reduce: number, expect: Size): Promise<CodecOutput> {
  const module = await codec();
  printed = [];
  const decoder = new module.J2KDecoder();
  try {
    decoder.getEncodedBuffer(codestream.length).set(codestream);
    decoder.decodeSubResolution(reduce, 0);
    return output(decoder, expect);
  } catch (error) {
    // After a C++ exception or an abort the instance's state is unknown: start afresh next time.
    loading = undefined;
    throw codecError(error, module.HEAPU8.length);
  } finally {
    decoder.delete();
    if (module.HEAPU8.length > KEEP_HEAP_BYTES) loading = undefined;
  }
}

function output(decoder: J2KDecoder, expect: Size): CodecOutput {
  const failure = printed.find((line) => line.startsWith('[ERROR]'));
  if (failure !== undefined) throw failed(failure);
  const info = decoder.getFrameInfo();
  const bytesPerSample = info.bitsPerSample > 8 ? 2 : 1;
  const data = decoder.getDecodedBuffer();
  const expectedBytes = expect.width * expect.height * info.componentCount * bytesPerSample;
  if (data.length !== expectedBytes) throw failed(`${data.length} bytes of pixels where ${expect.width}x${expect.height}x${info.componentCount} needs ${expectedBytes}`);
  return {
    data: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    width: expect.width,
    height: expect.height,
    channels: info.componentCount,
    bytesPerSample,
  };
}

/** OpenJPEG's own words when an allocation fails ("Not enough memory for tile data", ...). */
const OUT_OF_MEMORY = /not enough memory|out of memory|cannot allocate|OOM|bad_alloc/i;

/** A decode failure: the heap running out is the decode's size, anything else the source's fault. */
function failed(message: string, cause?: unknown): SourceError | UnsupportedError {
  const said = message.replace(/^\[ERROR\]\s*/, '').trim();
  const options = cause === undefined ? {} : { cause };
  if (OUT_OF_MEMORY.test(said)) {
    return new UnsupportedError('RENDER_TOO_LARGE', expected(`a decode that fits the codec's ${CODEC_HEAP_LIMIT / 2 ** 30} GiB heap`, 'the JPEG 2000 decode', said), options);
  }
  return new SourceError('SOURCE_UNREADABLE', expected('a JPEG 2000 codestream OpenJPEG decodes', 'the source', said), options);
}

/**
 * A thrown C++ exception is a bare number and an abort says only "Aborted()": the codec's last
 * printed error says more, and a heap grown to its limit says it ran out of memory.
 */
function codecError(error: unknown, heapBytes: number): Error {
  if (error instanceof SourceError || error instanceof UnsupportedError) return error;
  const said = printed.filter((line) => line.startsWith('[ERROR]')).at(-1);
  if (said !== undefined) return failed(said, error);
  const what = error instanceof Error ? error.message : `C++ exception ${String(error)}`;
  return failed(heapBytes > 0.9 * CODEC_HEAP_LIMIT ? `out of memory at ${Math.round(heapBytes / 2 ** 20)} MiB: ${what}` : what, error);
}

/** For tests: has the codec been loaded? */
export function codecLoaded(): boolean {
  return loading !== undefined;
}
