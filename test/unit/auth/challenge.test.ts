import { describe, expect, it } from 'vitest';
import { formatChallenge } from '../../../lib/auth/index.js';
import { quoteParam } from '../../../lib/auth/challenge.js';

describe('formatChallenge', () => {
  it('formats a bare challenge for a request without credentials (RFC 6750 §3.1: no error code)', () => {
    // Act
    const header = formatChallenge({ scope: 'iiif:read' });

    // Assess
    expect(header).toBe('Bearer realm="recto", scope="iiif:read"');
  });

  it('formats realm, error, description and scope in that order', () => {
    // Act
    const header = formatChallenge({ scope: 'a b', description: 'The token has expired', error: 'invalid_token' });

    // Assess
    expect(header).toBe('Bearer realm="recto", error="invalid_token", error_description="The token has expired", scope="a b"');
  });

  it('formats the realm alone when nothing else is set', () => {
    // Act
    const header = formatChallenge({});

    // Assess
    expect(header).toBe('Bearer realm="recto"');
  });
});

describe('quoteParam', () => {
  it('escapes quotes and backslashes so a value cannot close its quoted-string', () => {
    // Act
    const quoted = quoteParam('say "hi", error="x" \\ done');

    // Assess
    expect(quoted).toBe('"say \\"hi\\", error=\\"x\\" \\\\ done"');
  });

  it('replaces CR, LF, other controls and non-ASCII so no header can be injected', () => {
    // Act
    const quoted = quoteParam('a\r\nSet-Cookie: x=1\u0000é\u2028');

    // Assess
    expect(quoted).toBe('"a??Set-Cookie: x=1???"');
  });
});
