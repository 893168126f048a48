/**
 * The IIIF validator's test image: 1000 x 1000 pixels, a 10 x 10 grid of 100-pixel squares,
 * each one flat colour from the validator's `colorInfo` table (iiif_validator/validator.py).
 * The newer validator ships the same picture as `validation_image.png` and compares against
 * it; we rebuild it from the table so the suite needs no binary fixture and every expectation
 * is computed from this layout, never from Recto's own code.
 */
import sharp from 'sharp';

export interface Rgb {
  readonly r: number;
  readonly g: number;
  readonly b: number;
}

/** Width and height of the validation image, in pixels. */
export const GRID_SIZE = 1000;
/** Squares per side. */
export const GRID_CELLS = 10;
/** Side of one square, in pixels. */
export const CELL_SIZE = GRID_SIZE / GRID_CELLS;

/**
 * The validator's `colorInfo`, verbatim. It is indexed `[column][row]`: the old validator's
 * `do_test_square(img, x, y)` reads `colorInfo[x][y]` for the square whose top-left pixel is
 * `(x * 100, y * 100)`, and its mirror test expects square (0, 0) of `!0` to be `colorInfo[9][0]`.
 */
const COLOR_INFO: readonly (readonly (readonly [number, number, number])[])[] = [
  [[61, 170, 126], [61, 107, 178], [82, 85, 234], [164, 122, 110], [129, 226, 88], [91, 37, 121], [138, 128, 42], [6, 85, 234], [121, 109, 204], [65, 246, 84]],
  [[195, 133, 120], [171, 43, 102], [118, 45, 130], [242, 105, 171], [5, 85, 105], [113, 58, 41], [223, 69, 3], [45, 79, 140], [35, 117, 248], [121, 156, 184]],
  [[168, 92, 163], [28, 91, 143], [86, 41, 173], [111, 230, 29], [174, 189, 7], [18, 139, 88], [93, 168, 128], [35, 2, 14], [204, 105, 137], [18, 86, 128]],
  [[107, 55, 178], [251, 40, 184], [47, 36, 139], [2, 127, 170], [224, 12, 114], [133, 67, 108], [239, 174, 209], [85, 29, 156], [8, 55, 188], [240, 125, 7]],
  [[112, 167, 30], [166, 63, 161], [232, 227, 23], [74, 80, 135], [79, 97, 47], [145, 160, 80], [45, 160, 79], [12, 54, 215], [203, 83, 70], [78, 28, 46]],
  [[102, 193, 63], [225, 55, 91], [107, 194, 147], [167, 24, 95], [249, 214, 96], [167, 34, 136], [53, 254, 209], [172, 222, 21], [153, 77, 51], [137, 39, 183]],
  [[159, 182, 192], [128, 252, 173], [148, 162, 90], [192, 165, 115], [154, 102, 2], [107, 237, 62], [111, 236, 219], [129, 113, 172], [239, 204, 166], [60, 96, 37]],
  [[72, 172, 227], [119, 51, 100], [209, 85, 165], [87, 172, 159], [188, 42, 162], [99, 3, 54], [7, 42, 37], [105, 155, 100], [38, 220, 240], [98, 46, 2]],
  [[18, 223, 145], [189, 121, 17], [88, 3, 210], [181, 16, 43], [189, 39, 244], [123, 147, 116], [246, 148, 214], [223, 177, 199], [77, 18, 136], [235, 36, 21]],
  [[146, 137, 176], [84, 248, 55], [61, 144, 79], [110, 251, 49], [43, 105, 132], [165, 131, 55], [60, 23, 225], [147, 197, 226], [80, 67, 104], [161, 119, 182]],
];

/**
 * The colour of square (column, row), both 0 to 9.
 * @throws RangeError for a square outside the grid
 */
export function cellColour(column: number, row: number): Rgb {
  const rgb = COLOR_INFO[column]?.[row];
  if (rgb === undefined) throw new RangeError(`Expected a square from (0, 0) to (9, 9) but received (${column}, ${row})`);
  return { r: rgb[0], g: rgb[1], b: rgb[2] };
}

/** The validation image as raw 8-bit RGB. */
export function validationPixels(): Buffer {
  const data = Buffer.alloc(GRID_SIZE * GRID_SIZE * 3);
  for (let y = 0; y < GRID_SIZE; y++) {
    for (let x = 0; x < GRID_SIZE; x++) {
      const { r, g, b } = cellColour(Math.floor(x / CELL_SIZE), Math.floor(y / CELL_SIZE));
      const i = (y * GRID_SIZE + x) * 3;
      data[i] = r;
      data[i + 1] = g;
      data[i + 2] = b;
    }
  }
  return data;
}

/** The validation image as a PNG (8-bit RGB, no alpha, no ICC profile), as the validator ships it. */
export function validationPng(): Promise<Buffer> {
  return sharp(validationPixels(), { raw: { width: GRID_SIZE, height: GRID_SIZE, channels: 3 } })
    .png({ compressionLevel: 9, palette: false })
    .toBuffer();
}
