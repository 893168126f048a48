/**
 * A tiled TIFF's structure as the SourceProbe the rest of Recto plans from: the same fields
 * probe() reads from the file with libvips, taken from the directories alone, plus the structure
 * itself, whose presence says "render this source by ranges". Only a master whose every pyramid
 * level the tile decoder reads gets one; anything else is rendered from the whole file.
 */
import type { Size } from '../../iiif/types.js';
import { orientationTransform, transformSize } from '../geometry.js';
import type { SourceProbe } from '../probe.js';
import { isDecodable } from './format.js';
import type { TiffImage, TiffStructure } from './structure.js';

/**
 * The probe of a tiled TIFF read by ranges, or undefined when some level cannot be decoded tile
 * by tile (striped, CMYK, palette, an unsupported compression, …).
 */
export function describeTiff(structure: TiffStructure): SourceProbe | undefined {
  const levels = structure.levels.map((index) => structure.images[index]);
  const full = levels[0];
  if (full === undefined || !levels.every((image): image is TiffImage => image !== undefined && image.layout.kind === 'tiled' && isDecodable(image))) return undefined;
  if (full.layout.kind !== 'tiled') return undefined;
  const toDisplay = orientationTransform(full.orientation);
  const display = (size: Size): Size => transformSize(size, toDisplay);
  const colour = full.samplesPerPixel - full.extraSamples.length;
  const sixteen = full.bitsPerSample[0] === 16;
  const shown = display({ width: full.width, height: full.height });
  return {
    format: 'tiff',
    width: shown.width,
    height: shown.height,
    levels: levels.map((image) => display({ width: image.width, height: image.height })),
    tile: display({ width: full.layout.tileWidth, height: full.layout.tileHeight }),
    orientation: full.orientation,
    // libvips' names for what it would load: sRGB or grey, at 8 or 16 bits.
    space: colour === 1 ? (sixteen ? 'grey16' : 'b-w') : sixteen ? 'rgb16' : 'srgb',
    channels: full.samplesPerPixel,
    depth: sixteen ? 'ushort' : 'uchar',
    hasAlpha: full.extraSamples.length > 0,
    hasProfile: full.iccProfile !== undefined,
    pages: structure.images.filter((image) => image.subifd === undefined).length,
    ...(structure.pyramid === undefined || levels.length < 2 ? {} : { pyramid: structure.pyramid }),
    tiff: structure,
  };
}
