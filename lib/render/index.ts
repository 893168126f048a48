/**
 * lib/render: sharp pipelines from a Plan, source probing, pyramid level choice, and batch
 * renders (many Plans of one source from one decode per level). Knows nothing of HTTP or S3: it
 * takes a file path or a Buffer and returns encoded bytes.
 */
export { probe, SOURCE_FORMATS, PYRAMID_KINDS } from './probe.js';
export type { SourceProbe, SourceFormat, PyramidKind, ProbeOptions } from './probe.js';
export { render, openSource, openRegion, openJp2Region, applyQuality, applyEncoder, BITONAL_THRESHOLD, MAX_OUTPUT_SIDE } from './render.js';
export type { RenderOptions, RenderResult, RenderInput, RangedInput } from './render.js';
export {
  estimateRenderSeconds, estimateRenderBytes, renderMemoryBudget, assertRenderMemory, LAMBDA_SLOWDOWN, PROCESS_RESERVE_BYTES,
  estimateJp2Decode, jp2RenderableNow, estimateAccessCopySeconds, JP2_RENDER_NOW_SECONDS, JP2_RENDER_NOW_MAX_PIXELS,
} from './estimate.js';
export type { EstimateOptions, Jp2DecodeEstimate } from './estimate.js';
export { buildAccessCopy, JP2_UNTILED_MAX_PIXELS } from './access-copy.js';
export type { AccessCopy, AccessCopyOptions } from './access-copy.js';
export { describeJp2, JP2_DESCRIPTION_VERSION } from './jp2/describe.js';
export type { Jp2Description } from './jp2/describe.js';
export { configureSharp } from './setup.js';
export { toRenderError } from './failure.js';
export type { FailureContext } from './failure.js';
export { route } from './route.js';
export type { RenderRoute, Strategy, LoadSpec } from './route.js';
export { encoderSettings } from './encode.js';
export type { EncoderSettings } from './encode.js';
export { renderBatch, planBatch } from './batch.js';
export type { BatchItem, BatchInput, BatchHandlers, BatchRenderOptions } from './batch.js';
