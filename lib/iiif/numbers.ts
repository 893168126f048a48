/**
 * The number grammar shared by every IIIF parameter. Deliberately narrow: plain decimal digits,
 * an optional fraction where the spec allows floats. No sign, no exponent (`1e5`), no hex, no
 * whitespace, no `Infinity`: Number() would accept all of those.
 */

const INTEGER = /^\d{1,15}$/;
// 3.0 §4.7: floats "MUST consist only of decimal digits and '.'" and only SHOULD have a leading
// zero, so `.5` (and `5.`) are valid requests, discouraged but not errors.
const DECIMAL = /^(?:\d{1,15}(?:\.\d{0,15})?|\.\d{1,15})$/;

/** A non-negative integer as written, or undefined when the text is not one. */
export function parseInteger(text: string): number | undefined {
  return INTEGER.test(text) ? Number(text) : undefined;
}

/** A non-negative decimal as written (`10`, `10.5`, `0.25`, `.25`), or undefined. */
export function parseDecimal(text: string): number | undefined {
  return DECIMAL.test(text) ? Number(text) : undefined;
}

/** Decimal places kept for rotations: enough for any practical angle, few enough to print exactly. */
const ROTATION_DECIMALS = 1e6;

/** Round to six decimals, so a rotation prints without an exponent and round-trips. */
export function roundRotation(degrees: number): number {
  return Math.round(degrees * ROTATION_DECIMALS) / ROTATION_DECIMALS;
}

/**
 * A number in canonical form: no trailing zeros, no exponent (3.0 §4.3 "22.5", "0.5").
 * Valid for the values this module produces: integers and six-decimal rotations.
 */
export function formatNumber(value: number): string {
  if (Number.isInteger(value)) return value.toFixed(0);
  return value.toFixed(6).replace(/0+$/, '').replace(/\.$/, '');
}
