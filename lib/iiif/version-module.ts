/** The interface every API version module implements (v2.ts, v3.ts), and what they share. */
import type { ApiVersion, Limits, Plan, RenderableFormat, SizeRequest, SourceImage } from './types.js';

export interface InfoOptions {
  /** The service's URL as the client should see it: base URL, version prefix, encoded identifier. */
  readonly id: string;
  readonly limits: Limits;
  /** The tile edge for sources without square native tiles. */
  readonly tileSize: number;
}

export interface VersionModule {
  readonly version: ApiVersion;
  readonly contextUrl: string;
  /** The compliance profile URI, for info.json and the `Link: rel="profile"` header. */
  readonly profileUrl: string;
  /** @throws IiifRequestError IIIF_INVALID_SIZE */
  parseSize(text: string): SizeRequest;
  /** The canonical size of a Plan in this version's rules. */
  formatSize(plan: Plan): string;
  infoDocument(source: SourceImage, options: InfoOptions): Record<string, unknown>;
  /** info.json's Content-Type, given the request's Accept header. */
  infoMediaType(accept: string | undefined): string;
  /**
   * Whether infoMediaType depends on Accept: then the answer must say `Vary: Accept`, or a cache
   * would hand one client's Content-Type to another (RFC 9110 §12.5.5).
   */
  readonly infoVariesByAccept: boolean;
}

/** Formats beyond the jpg and png that level 2 requires. */
export const EXTRA_FORMATS = ['webp', 'tif', 'gif'] as const satisfies readonly RenderableFormat[];
