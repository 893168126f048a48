/**
 * The `map` sample: an invented map drawn as SVG, with structure at every scale, so deep zoom
 * has something to show: a title and districts readable at the whole-image view, hamlets and
 * contour heights at a few times closer, street names and the fine print of the legend only
 * near full resolution (its smallest text is 9 pixels high). Made by infra/local/make-samples.ts.
 *
 * Deterministic for a given seed; the text is set in the machine's DejaVu fonts (fontconfig falls
 * back to another sans or serif where they are missing), so the committed PNG is what ships.
 */
import { random } from '../../test/support/fixtures.js';

export interface MapOptions {
  readonly width: number;
  readonly height: number;
  readonly seed: number;
}

const INK = '#3b2f1e';
const PAPER = '#f3ead6';
const WATER = '#8fb3d1';
const WATER_EDGE = '#4f7ea6';
const CONTOUR = '#a0703c';
const BLOCK = '#d9c7a3';
const ROAD = '#ffffff';
const SERIF = "'DejaVu Serif', serif";
const SANS = "'DejaVu Sans', sans-serif";

const SYLLABLES = ['ar', 'bel', 'cor', 'dun', 'el', 'fal', 'gar', 'hol', 'ing', 'kel', 'lin', 'mor', 'nor', 'ost', 'pen', 'quar', 'ros', 'sal', 'tor', 'ul', 'ver', 'wick', 'yar', 'zen'];
const STREET_KINDS = ['Street', 'Lane', 'Road', 'Row', 'Walk', 'Gate'];

/** The map as an SVG document of `width` x `height` pixels. */
export function mapSvg(options: MapOptions): string {
  const { width: w, height: h } = options;
  const next = random(options.seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const name = (syllables: number): string => {
    const word = Array.from({ length: syllables }, () => pick(SYLLABLES)).join('');
    return word.charAt(0).toUpperCase() + word.slice(1);
  };
  const parts: string[] = [];
  const margin = Math.round(w * 0.04);
  const inner = { x: margin, y: margin, w: w - 2 * margin, h: h - 2 * margin };

  // Paper; everything inside the frame is clipped to it.
  parts.push(`<rect width="${w}" height="${h}" fill="${PAPER}"/>`);
  parts.push(`<clipPath id="sheet"><rect x="${inner.x}" y="${inner.y}" width="${inner.w}" height="${inner.h}"/></clipPath><g clip-path="url(#sheet)">`);

  // Contour lines around three hills, every 10 m, with their heights in small print.
  for (let hill = 0; hill < 3; hill++) {
    const cx = inner.x + inner.w * (0.15 + 0.35 * hill + next() * 0.1);
    const cy = inner.y + inner.h * (hill === 1 ? 0.72 : 0.3 + next() * 0.1);
    const wobble = Array.from({ length: 7 }, () => next() * Math.PI * 2);
    for (let ring = 1; ring <= 12; ring++) {
      const radius = ring * w * 0.011;
      const points: string[] = [];
      for (let step = 0; step <= 72; step++) {
        const angle = (step / 72) * Math.PI * 2;
        const bump = 1 + 0.12 * Math.sin(3 * angle + (wobble[0] ?? 0)) + 0.07 * Math.sin(5 * angle + (wobble[1] ?? 0)) + 0.04 * Math.sin(7 * angle + ring * 0.3);
        points.push(`${(cx + Math.cos(angle) * radius * bump * 1.3).toFixed(1)},${(cy + Math.sin(angle) * radius * bump).toFixed(1)}`);
      }
      parts.push(`<polyline points="${points.join(' ')}" fill="none" stroke="${CONTOUR}" stroke-width="${ring % 5 === 0 ? 2.5 : 1.2}"/>`);
      if (ring % 2 === 0) {
        parts.push(text(cx + radius * 1.3 * 1.05, cy, `${(13 - ring) * 10 + 40} m`, { size: 11, fill: CONTOUR, font: SANS }));
      }
    }
    parts.push(text(cx, cy + 6, `▲ ${name(2)} Hill`, { size: 26, anchor: 'middle', font: SERIF, style: 'italic' }));
  }

  // A river across the sheet, with a name along it.
  const riverY = inner.y + inner.h * 0.55;
  const river = `M ${inner.x} ${riverY} C ${inner.x + inner.w * 0.25} ${riverY - inner.h * 0.25}, ${inner.x + inner.w * 0.45} ${riverY + inner.h * 0.2}, ${inner.x + inner.w * 0.6} ${riverY - inner.h * 0.05} S ${inner.x + inner.w * 0.9} ${riverY + inner.h * 0.12}, ${inner.x + inner.w} ${riverY - inner.h * 0.08}`;
  parts.push(`<path id="river" d="${river}" fill="none" stroke="${WATER_EDGE}" stroke-width="${w * 0.012}"/>`);
  parts.push(`<path d="${river}" fill="none" stroke="${WATER}" stroke-width="${w * 0.009}"/>`);
  parts.push(`<text font-family="${SERIF}" font-style="italic" font-size="34" fill="${WATER_EDGE}" letter-spacing="12"><textPath href="#river" startOffset="8%">River ${name(2)}</textPath></text>`);

  // A town: a tilted grid of blocks and streets, each street named in small print.
  const town = { x: inner.x + inner.w * 0.55, y: inner.y + inner.h * 0.06, size: inner.w * 0.2 };
  const cells = 6;
  const cell = town.size / cells;
  const townParts: string[] = [];
  for (let row = 0; row < cells; row++) {
    for (let col = 0; col < cells; col++) {
      if (next() < 0.12) continue;
      const inset = cell * 0.14;
      townParts.push(`<rect x="${(col * cell + inset).toFixed(1)}" y="${(row * cell + inset).toFixed(1)}" width="${(cell - 2 * inset).toFixed(1)}" height="${(cell - 2 * inset).toFixed(1)}" fill="${BLOCK}" stroke="${INK}" stroke-width="1"/>`);
      // Houses: small squares along the block's edges.
      for (let house = 0; house < 5; house++) {
        const hx = col * cell + inset + 6 + house * ((cell - 2 * inset - 20) / 5);
        townParts.push(`<rect x="${hx.toFixed(1)}" y="${(row * cell + inset + 5).toFixed(1)}" width="9" height="9" fill="${INK}" opacity="0.55"/>`);
      }
    }
  }
  // Streets first, then their names, each in the middle of a block's side, clear of crossings.
  for (let line = 0; line <= cells; line++) {
    townParts.push(`<line x1="0" y1="${(line * cell).toFixed(1)}" x2="${town.size.toFixed(1)}" y2="${(line * cell).toFixed(1)}" stroke="${ROAD}" stroke-width="${cell * 0.1}"/>`);
    townParts.push(`<line x1="${(line * cell).toFixed(1)}" y1="0" x2="${(line * cell).toFixed(1)}" y2="${town.size.toFixed(1)}" stroke="${ROAD}" stroke-width="${cell * 0.1}"/>`);
  }
  for (let line = 0; line <= cells; line++) {
    const along = (Math.floor(next() * cells) + 0.5) * cell;
    townParts.push(text(along, line * cell + 3.5, `${name(2)} ${pick(STREET_KINDS)}`, { size: 10, anchor: 'middle', font: SANS }));
    townParts.push(`<g transform="translate(${(line * cell - 3.5).toFixed(1)} ${((Math.floor(next() * cells) + 0.5) * cell).toFixed(1)}) rotate(90)">${text(0, 0, `${name(2)} ${pick(STREET_KINDS)}`, { size: 10, anchor: 'middle', font: SANS })}</g>`);
  }
  parts.push(`<g transform="translate(${town.x.toFixed(1)} ${town.y.toFixed(1)}) rotate(-8 ${(town.size / 2).toFixed(1)} ${(town.size / 2).toFixed(1)})">${townParts.join('')}</g>`);
  parts.push(text(town.x + town.size / 2, town.y + town.size + 70, name(3).toUpperCase(), { size: 56, anchor: 'middle', font: SERIF, spacing: 10 }));

  // Fields and hamlets: dotted field boundaries with field names, hamlets as small circles.
  const rose = { x: inner.x + inner.w * 0.92, y: inner.y + inner.h * 0.12, r: inner.w * 0.035 };
  const title = { x: inner.x + inner.w * 0.04, y: inner.y + inner.h * 0.78, w: inner.w * 0.36, h: inner.h * 0.18 };
  const crowded = (x: number, y: number): boolean =>
    Math.hypot(x - rose.x, y - rose.y) < rose.r * 2.5 ||
    (x > title.x - 250 && x < title.x + title.w + 50 && y > title.y - 50 && y < title.y + title.h + 50) ||
    (x > town.x - 250 && x < town.x + town.size + 100 && y > town.y - 100 && y < town.y + town.size + 150);
  for (let hamlet = 0; hamlet < 14; hamlet++) {
    let x = 0;
    let y = 0;
    do {
      x = inner.x + inner.w * (0.05 + next() * 0.85);
      y = inner.y + inner.h * (0.08 + next() * 0.8);
    } while (crowded(x, y));
    parts.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="7" fill="${INK}"/>`);
    parts.push(text(x + 12, y + 6, name(2), { size: 18, font: SERIF }));
    const fx = x - 120 + next() * 40;
    const fy = y + 30;
    parts.push(`<rect x="${fx.toFixed(1)}" y="${fy.toFixed(1)}" width="${(140 + next() * 80).toFixed(1)}" height="${(60 + next() * 40).toFixed(1)}" fill="none" stroke="${INK}" stroke-width="1" stroke-dasharray="4 4"/>`);
    parts.push(text(fx + 8, fy + 20, `${name(1)} Field · ${(2 + next() * 9).toFixed(1)} acres`, { size: 9, font: SANS }));
  }

  // A coordinate grid with letters and numbers in the margin, every tenth of the sheet.
  const margins: string[] = [];
  for (let i = 0; i <= 10; i++) {
    const x = inner.x + (inner.w * i) / 10;
    const y = inner.y + (inner.h * i) / 10;
    parts.push(`<line x1="${x.toFixed(1)}" y1="${inner.y}" x2="${x.toFixed(1)}" y2="${inner.y + inner.h}" stroke="${INK}" stroke-width="0.6" stroke-dasharray="2 10"/>`);
    parts.push(`<line x1="${inner.x}" y1="${y.toFixed(1)}" x2="${inner.x + inner.w}" y2="${y.toFixed(1)}" stroke="${INK}" stroke-width="0.6" stroke-dasharray="2 10"/>`);
    if (i < 10) {
      margins.push(text(x + inner.w / 20, inner.y - margin * 0.3, String.fromCharCode(65 + i), { size: 30, anchor: 'middle', font: SERIF }));
      margins.push(text(inner.x - margin * 0.5, y + inner.h / 20 + 10, String(i + 1), { size: 30, anchor: 'middle', font: SERIF }));
    }
  }
  // Ticks along the frame every hundredth, for the eye to measure by.
  for (let i = 0; i <= 100; i++) {
    const x = inner.x + (inner.w * i) / 100;
    const y = inner.y + (inner.h * i) / 100;
    const long = i % 10 === 0 ? 24 : i % 5 === 0 ? 16 : 9;
    parts.push(`<line x1="${x.toFixed(1)}" y1="${inner.y}" x2="${x.toFixed(1)}" y2="${inner.y + long}" stroke="${INK}" stroke-width="1.5"/>`);
    parts.push(`<line x1="${inner.x}" y1="${y.toFixed(1)}" x2="${inner.x + long}" y2="${y.toFixed(1)}" stroke="${INK}" stroke-width="1.5"/>`);
  }
  parts.push('</g>', ...margins);
  parts.push(`<rect x="${inner.x}" y="${inner.y}" width="${inner.w}" height="${inner.h}" fill="none" stroke="${INK}" stroke-width="6"/>`);
  parts.push(`<rect x="${inner.x - 14}" y="${inner.y - 14}" width="${inner.w + 28}" height="${inner.h + 28}" fill="none" stroke="${INK}" stroke-width="2"/>`);

  // Title cartouche, compass rose, scale bar and a legend with fine print.
  parts.push(`<rect x="${title.x}" y="${title.y}" width="${title.w}" height="${title.h}" fill="${PAPER}" stroke="${INK}" stroke-width="4"/>`);
  parts.push(text(title.x + title.w / 2, title.y + title.h * 0.42, 'A MAP OF NOWHERE', { size: Math.round(title.h * 0.24), anchor: 'middle', font: SERIF, spacing: 6 }));
  parts.push(text(title.x + title.w / 2, title.y + title.h * 0.62, 'Recto sample for deep zoom · invented, every name and line', { size: 22, anchor: 'middle', font: SERIF, style: 'italic' }));
  const fine = [
    'Nothing on this sheet exists. It is drawn so that each zoom level has something new to read:',
    'districts and hills at the whole view, hamlets and heights closer in, street names and this',
    'paragraph only near full resolution, where its letters are nine pixels high.',
  ];
  fine.forEach((line, index) => parts.push(text(title.x + 30, title.y + title.h * 0.76 + index * 13, line, { size: 9, font: SANS })));

  for (let point = 0; point < 8; point++) {
    const angle = (point / 8) * Math.PI * 2 - Math.PI / 2;
    const length = point % 2 === 0 ? rose.r : rose.r * 0.55;
    const side = angle + Math.PI / 2;
    const tip = [rose.x + Math.cos(angle) * length, rose.y + Math.sin(angle) * length];
    const left = [rose.x + Math.cos(side) * rose.r * 0.12, rose.y + Math.sin(side) * rose.r * 0.12];
    const right = [rose.x - Math.cos(side) * rose.r * 0.12, rose.y - Math.sin(side) * rose.r * 0.12];
    parts.push(`<polygon points="${[tip, left, right].map((p) => p.map((n) => n.toFixed(1)).join(',')).join(' ')}" fill="${point === 0 ? INK : PAPER}" stroke="${INK}" stroke-width="2"/>`);
  }
  parts.push(text(rose.x, rose.y - rose.r - 14, 'N', { size: 40, anchor: 'middle', font: SERIF }));

  const bar = { x: inner.x + inner.w * 0.62, y: inner.y + inner.h * 0.93, w: inner.w * 0.3 };
  for (let i = 0; i < 10; i++) {
    parts.push(`<rect x="${(bar.x + (bar.w * i) / 10).toFixed(1)}" y="${bar.y}" width="${(bar.w / 10).toFixed(1)}" height="14" fill="${i % 2 === 0 ? INK : PAPER}" stroke="${INK}" stroke-width="1.5"/>`);
    parts.push(text(bar.x + (bar.w * i) / 10, bar.y + 34, `${i * 100}`, { size: 14, anchor: 'middle', font: SANS }));
  }
  parts.push(text(bar.x + bar.w, bar.y + 34, '1000 paces', { size: 14, anchor: 'middle', font: SANS }));

  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">${parts.join('')}</svg>`;
}

interface TextStyle {
  readonly size: number;
  readonly font: string;
  readonly anchor?: 'start' | 'middle' | 'end';
  readonly fill?: string;
  readonly style?: 'italic';
  readonly spacing?: number;
}

function text(x: number, y: number, content: string, style: TextStyle): string {
  const attributes = [
    `x="${x.toFixed(1)}"`,
    `y="${y.toFixed(1)}"`,
    `font-family="${style.font}"`,
    `font-size="${style.size}"`,
    `fill="${style.fill ?? INK}"`,
    ...(style.anchor === undefined ? [] : [`text-anchor="${style.anchor}"`]),
    ...(style.style === undefined ? [] : [`font-style="${style.style}"`]),
    ...(style.spacing === undefined ? [] : [`letter-spacing="${style.spacing}"`]),
  ];
  return `<text ${attributes.join(' ')}>${content.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</text>`;
}
