/**
 * The vocabulary of lib/iiif: what a request says (parsed), and what it means in pixels (Plan).
 * Pure data: nothing here knows about S3, sharp or HTTP.
 */

export const API_VERSIONS = ['2', '3'] as const;
export type ApiVersion = (typeof API_VERSIONS)[number];

export const QUALITIES = ['default', 'color', 'gray', 'bitonal'] as const;
export type Quality = (typeof QUALITIES)[number];

/** Every format the grammar accepts. Which of them render is `RENDERABLE_FORMATS`. */
export const FORMATS = ['jpg', 'png', 'webp', 'tif', 'gif', 'jp2', 'pdf'] as const;
export type Format = (typeof FORMATS)[number];

/** Formats Recto renders; a request for another valid format is a 501. */
export const RENDERABLE_FORMATS = ['jpg', 'png', 'webp', 'tif', 'gif'] as const satisfies readonly Format[];
export type RenderableFormat = (typeof RENDERABLE_FORMATS)[number];

export const MEDIA_TYPES = {
  jpg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  tif: 'image/tiff',
  gif: 'image/gif',
  jp2: 'image/jp2',
  pdf: 'application/pdf',
} as const satisfies Record<Format, string>;

export interface Size {
  readonly width: number;
  readonly height: number;
}

export interface Rect extends Size {
  readonly x: number;
  readonly y: number;
}

/** Server-imposed limits on an output image (info.json maxWidth, maxHeight, maxArea). */
export interface Limits {
  readonly maxWidth?: number;
  readonly maxHeight?: number;
  readonly maxArea?: number;
}

// ---- a request as written -------------------------------------------------------------

export type RegionRequest =
  | { readonly kind: 'full' }
  | { readonly kind: 'square' }
  | { readonly kind: 'pixels'; readonly x: number; readonly y: number; readonly width: number; readonly height: number }
  | { readonly kind: 'percent'; readonly x: number; readonly y: number; readonly width: number; readonly height: number };

/** `upscale` is the 3.0 `^` prefix; 2.1 sizes always allow upscaling and set it to true. */
export type SizeRequest =
  | { readonly kind: 'full' } // 2.1 only
  | { readonly kind: 'max'; readonly upscale: boolean }
  | { readonly kind: 'width'; readonly width: number; readonly upscale: boolean }
  | { readonly kind: 'height'; readonly height: number; readonly upscale: boolean }
  | { readonly kind: 'percent'; readonly percent: number; readonly upscale: boolean }
  | { readonly kind: 'exact'; readonly width: number; readonly height: number; readonly upscale: boolean }
  | { readonly kind: 'fit'; readonly width: number; readonly height: number; readonly upscale: boolean };

export interface RotationRequest {
  readonly mirror: boolean;
  /** Degrees clockwise, 0 ≤ n ≤ 360 as written. */
  readonly degrees: number;
}

export interface ImageRequest {
  readonly version: ApiVersion;
  /** The decoded identifier. */
  readonly identifier: string;
  readonly region: RegionRequest;
  readonly size: SizeRequest;
  readonly rotation: RotationRequest;
  readonly quality: Quality;
  readonly format: Format;
}

// ---- what it means in pixels ------------------------------------------------------------

/**
 * The exact pixels a request asks for. Everything after resolution (storage key, rendering,
 * the canonical Link header) reads a Plan and nothing else.
 */
export interface Plan {
  readonly identifier: string;
  /** The full image the region was cut from. */
  readonly source: Size;
  /** The limits the size was resolved against (they decide the `max` canonical forms). */
  readonly limits: Limits;
  /** Region in source pixels, already cropped to the image. */
  readonly region: Rect;
  /** Width and height of the scaled region, before rotation. */
  readonly size: Size;
  /** Mirror horizontally, before rotating. */
  readonly mirror: boolean;
  /** Degrees clockwise in [0, 360), at most 6 decimals. */
  readonly rotation: number;
  readonly quality: Quality;
  readonly format: RenderableFormat;
}

/** What info.json needs to know about a source: its size and, when known, its pyramid and tiles. */
export interface SourceImage extends Size {
  /** Pyramid levels, largest first (the full size included), when the source has them. */
  readonly levels?: readonly Size[];
  /** The source's native tile size, when it is tiled. */
  readonly tile?: Size;
}
