/** TIFF tag numbers, field types (classic TIFF's and BigTIFF's) and compression codes. */

export const TAG = {
  NEW_SUBFILE_TYPE: 254,
  IMAGE_WIDTH: 256,
  IMAGE_LENGTH: 257,
  BITS_PER_SAMPLE: 258,
  COMPRESSION: 259,
  PHOTOMETRIC: 262,
  STRIP_OFFSETS: 273,
  ORIENTATION: 274,
  SAMPLES_PER_PIXEL: 277,
  ROWS_PER_STRIP: 278,
  STRIP_BYTE_COUNTS: 279,
  PLANAR_CONFIGURATION: 284,
  PREDICTOR: 317,
  TILE_WIDTH: 322,
  TILE_LENGTH: 323,
  TILE_OFFSETS: 324,
  TILE_BYTE_COUNTS: 325,
  SUB_IFDS: 330,
  EXTRA_SAMPLES: 338,
  SAMPLE_FORMAT: 339,
  JPEG_TABLES: 347,
  YCBCR_SUBSAMPLING: 530,
  ICC_PROFILE: 34675,
} as const;

/** Field types this reader decodes, with their sizes in bytes. */
export const FIELD_TYPES = {
  1: { name: 'byte', size: 1 },
  2: { name: 'ascii', size: 1 },
  3: { name: 'short', size: 2 },
  4: { name: 'long', size: 4 },
  5: { name: 'rational', size: 8 },
  6: { name: 'sbyte', size: 1 },
  7: { name: 'undefined', size: 1 },
  8: { name: 'sshort', size: 2 },
  9: { name: 'slong', size: 4 },
  10: { name: 'srational', size: 8 },
  11: { name: 'float', size: 4 },
  12: { name: 'double', size: 8 },
  13: { name: 'ifd', size: 4 },
  16: { name: 'long8', size: 8 },
  17: { name: 'slong8', size: 8 },
  18: { name: 'ifd8', size: 8 },
} as const satisfies Record<number, { name: string; size: number }>;

export type FieldType = keyof typeof FIELD_TYPES;

/** Whether `type` is a field type this reader decodes (entries of other types are skipped). */
export function isFieldType(type: number): type is FieldType {
  return type in FIELD_TYPES;
}

/** Unsigned integer types an offset or byte-count array may use. */
export const ARRAY_TYPES = { 3: 'short', 4: 'long', 16: 'long8' } as const;
export type ArrayTypeName = (typeof ARRAY_TYPES)[keyof typeof ARRAY_TYPES];

export const ARRAY_TYPE_SIZES: Record<ArrayTypeName, number> = { short: 2, long: 4, long8: 8 };

export const COMPRESSION = { NONE: 1, LZW: 5, OLD_JPEG: 6, JPEG: 7, DEFLATE: 8, ADOBE_DEFLATE: 32946 } as const;

const COMPRESSION_NAMES: Readonly<Record<number, string>> = {
  1: 'none',
  2: 'ccitt-rle',
  3: 'ccitt-fax3',
  4: 'ccitt-fax4',
  5: 'lzw',
  6: 'old-jpeg',
  7: 'jpeg',
  8: 'deflate',
  32773: 'packbits',
  32946: 'deflate',
  34661: 'jbig',
  34712: 'jpeg2000',
  34887: 'lerc',
  34925: 'lzma',
  50000: 'zstd',
  50001: 'webp',
  50002: 'jpegxl',
  52546: 'jpegxl',
};

/** A readable name for a compression code, `compression-N` for codes this table lacks. */
export function compressionName(code: number): string {
  return COMPRESSION_NAMES[code] ?? `compression-${code}`;
}

export const PHOTOMETRIC = { MIN_IS_WHITE: 0, MIN_IS_BLACK: 1, RGB: 2, PALETTE: 3, SEPARATED: 5, YCBCR: 6 } as const;
