/**
 * Identifiers (3.0 §3 and §9, 2.1 §3 and §9): percent-decoded exactly once on the way in,
 * percent-encoded exactly once on the way out, and refused when they could not be a key.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_IDENTIFIER_BYTES, decodeIdentifier, encodeIdentifier } from '../../../lib/iiif/index.js';
import { rectoErrorOf } from './helpers.js';

describe('decodeIdentifier', () => {
  it.each([
    ['ark:%2F12025%2F654xz321', 'ark:/12025/654xz321'],
    ['urn:foo:a123,456', 'urn:foo:a123,456'],
    ['urn:sici:1046-8188(199501)13:1%253C69:FTTHBI%253E2.0.TX;2-4', 'urn:sici:1046-8188(199501)13:1%3C69:FTTHBI%3E2.0.TX;2-4'],
    ['http:%2F%2Fexample.com%2F%3F54%23a', 'http://example.com/?54#a'],
    ['67352ccc%2Dd1b0-11e1', '67352ccc-d1b0-11e1'],
    ['caf%C3%A9', 'café'],
    ['caf%c3%a9', 'café'],
    ['a%252Fb', 'a%2Fb'],
    ['...', '...'],
    ['.a%2Fb.', '.a/b.'],
    ['a..b', 'a..b'],
  ])('decodes %s once, to %s (3.0 §9 table)', (segment, identifier) => {
    // Act
    const decoded = decodeIdentifier(segment);

    // Assess
    expect(decoded).toBe(identifier);
  });

  it.each([
    ['', 'Expected a non-empty identifier for identifier but received ""'],
    ['%00', 'Expected an identifier without control characters for identifier but received "\\u0000"'],
    ['a%1Fb', 'Expected an identifier without control characters for identifier but received "a\\u001fb"'],
    // DEL and C1 controls are not JSON-escaped by quote(): only the start of the message is fixed.
    ['a%7F', expect.stringMatching(/^Expected an identifier without control characters for identifier but received "a/)],
    ['%C2%85', expect.stringMatching(/^Expected an identifier without control characters for identifier but received "/)],
    ['a%E2%80%A8b', 'Expected an identifier without control characters for identifier but received "a\\u2028b"'],
    ['a\tb', 'Expected an identifier without control characters for identifier but received "a\\tb"'],
    ['.', 'Expected an identifier without "." or ".." path segments for identifier but received "."'],
    ['..', 'Expected an identifier without "." or ".." path segments for identifier but received ".."'],
    ['%2E%2E', 'Expected an identifier without "." or ".." path segments for identifier but received ".."'],
    ['a%2F..%2Fb', 'Expected an identifier without "." or ".." path segments for identifier but received "a/../b"'],
    ['.%2Fa', 'Expected an identifier without "." or ".." path segments for identifier but received "./a"'],
    ['%E0%A4%A', 'Expected valid percent-encoding for identifier but received "%E0%A4%A"'],
    ['%C3%28', 'Expected valid percent-encoding for identifier but received "%C3%28"'],
    ['%ED%A0%80', 'Expected valid percent-encoding for identifier but received "%ED%A0%80"'],
    ['50%', 'Expected valid percent-encoding for identifier but received "50%"'],
    ['\ud800x', 'Expected an identifier of well-formed Unicode for identifier but received "\\ud800x"'],
    ['x\udc00', 'Expected an identifier of well-formed Unicode for identifier but received "x\\udc00"'],
  ] as const)('refuses %j with IIIF_INVALID_IDENTIFIER', (segment, message: unknown) => {
    // Act
    const error = rectoErrorOf(() => decodeIdentifier(segment));

    // Assess
    expect({ code: error.code, status: error.status, message: error.message }).toEqual({ code: 'IIIF_INVALID_IDENTIFIER', status: 400, message });
  });

  it('accepts an identifier of exactly 512 bytes once encoded, and refuses one byte more', () => {
    // Prepare
    const longest = ['x'.repeat(512), '%2F'.repeat(170) + 'xx', '%C3%A9'.repeat(85) + 'xx'];
    const tooLong = ['x'.repeat(513), '%2F'.repeat(171), '%C3%A9'.repeat(86)];

    // Act
    const decoded = longest.map((segment) => encodeIdentifier(decodeIdentifier(segment)).length);
    const errors = tooLong.map((segment) => rectoErrorOf(() => decodeIdentifier(segment)));

    // Assess
    expect(MAX_IDENTIFIER_BYTES).toBe(512);
    expect(decoded).toEqual([512, 512, 512]);
    expect(errors.map((error) => error.code)).toEqual(['IIIF_INVALID_IDENTIFIER', 'IIIF_INVALID_IDENTIFIER', 'IIIF_INVALID_IDENTIFIER']);
    expect(errors[1]?.message).toBe(`Expected an identifier of at most 512 bytes once percent-encoded for identifier but received "${'/'.repeat(64)}…"`);
  });
});

describe('encodeIdentifier', () => {
  it('leaves RFC 3986 unreserved characters as they are', () => {
    // Act
    const encoded = encodeIdentifier('AZaz09-._~');

    // Assess
    expect(encoded).toBe('AZaz09-._~');
  });

  it.each([
    ['/', '%2F'],
    [':', '%3A'],
    ['?', '%3F'],
    ['#', '%23'],
    ['[', '%5B'],
    [']', '%5D'],
    ['@', '%40'],
    ['%', '%25'],
    ['!', '%21'],
    ['$', '%24'],
    ['&', '%26'],
    ["'", '%27'],
    ['(', '%28'],
    [')', '%29'],
    ['*', '%2A'],
    ['+', '%2B'],
    [',', '%2C'],
    [';', '%3B'],
    ['=', '%3D'],
    [' ', '%20'],
    ['é', '%C3%A9'],
    ['😀', '%F0%9F%98%80'],
  ])('encodes %j as %s', (character, encoded) => {
    // Act / Assess
    expect(encodeIdentifier(character)).toBe(encoded);
  });

  it('encodes the spec\'s identifiers as one key segment', () => {
    // Act
    const encoded = ['ark:/12025/654xz321', 'urn:sici:1046-8188(199501)13:1%3C69:FTTHBI%3E2.0.TX;2-4'].map(encodeIdentifier);

    // Assess
    expect(encoded).toEqual(['ark%3A%2F12025%2F654xz321', 'urn%3Asici%3A1046-8188%28199501%2913%3A1%253C69%3AFTTHBI%253E2.0.TX%3B2-4']);
  });

  it('gives, for any well-formed text, only unreserved characters and %XX, decoding back to the text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
        // Act
        const encoded = encodeIdentifier(text);

        // Assess
        expect(encoded).toMatch(/^(?:[A-Za-z0-9\-._~]|%[0-9A-F]{2})*$/);
        expect(decodeURIComponent(encoded)).toBe(text);
      }),
      { numRuns: 300 },
    );
  });
});
