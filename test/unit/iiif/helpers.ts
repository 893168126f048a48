/**
 * Small helpers shared by the lib/iiif tests: split a request path into its five raw segments,
 * run parse + resolve in one step, and capture what a failing call throws.
 */
import { expect } from 'vitest';
import { RectoError } from '../../../lib/errors.js';
import {
  parseImageRequest,
  resolve,
  type ApiVersion,
  type ImagePathSegments,
  type Limits,
  type Plan,
  type Size,
} from '../../../lib/iiif/index.js';

/** The image the 2.1 and 3.0 spec examples are drawn on: 300 x 200 pixels. */
export const SPEC_IMAGE: Size = { width: 300, height: 200 };

/** `{identifier}/{region}/{size}/{rotation}/{quality}.{format}`, still percent-encoded, as five segments. */
export function segmentsOf(path: string): ImagePathSegments {
  const parts = path.split('/');
  const [identifier, region, size, rotation, qualityFormat] = parts;
  if (parts.length !== 5 || identifier === undefined || region === undefined || size === undefined || rotation === undefined || qualityFormat === undefined) {
    throw new TypeError(`a request path has five segments, this one has ${parts.length}: ${path}`);
  }
  return { identifier, region, size, rotation, qualityFormat };
}

/** Parse a request path for a version and resolve it against a source and limits. */
export function planOf(version: ApiVersion, path: string, source: Size = SPEC_IMAGE, limits: Limits = {}): Plan {
  return resolve(parseImageRequest(version, segmentsOf(path)), source, limits);
}

/** What `action` throws; fails the test when it returns normally. */
export function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw, and it returned normally');
}

/** What `action` throws, asserted to be one of our RectoErrors (never a TypeError, URIError, …). */
export function rectoErrorOf(action: () => unknown): RectoError {
  const error = thrownBy(action);
  expect(error).toBeInstanceOf(RectoError);
  return error as RectoError;
}

/** The parts of a Plan a table row states (everything but the echoed source, limits and identifier). */
export function pixelsOf(plan: Plan): {
  region: string;
  size: string;
  mirror: boolean;
  rotation: number;
  quality: string;
  format: string;
} {
  const { region, size } = plan;
  return {
    region: `${region.x},${region.y},${region.width},${region.height}`,
    size: `${size.width}x${size.height}`,
    mirror: plan.mirror,
    rotation: plan.rotation,
    quality: plan.quality,
    format: plan.format,
  };
}
