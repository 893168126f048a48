/**
 * lib/http/router.ts: raw paths to routes by shape alone. Versioned and default-version prefixes,
 * the presets route, identifiers with %2F kept as written, and every other shape (an unescaped
 * slash in an identifier, a missing or extra segment, a path too long, a path outside /iiif/)
 * not found. Whether the parts are valid IIIF is not the router's to say.
 */
import { describe, expect, it } from 'vitest';
import { MAX_PATH_LENGTH, route, type Route } from '../../lib/http/router.js';

const NOT_FOUND: Route = { kind: 'not-found' };

describe('route', () => {
  it.each<[string, '2' | '3', Route]>([
    // base URIs
    ['/iiif/2/ms%2F0001', '3', { kind: 'base', version: '2', prefix: '/iiif/2', identifier: 'ms%2F0001' }],
    ['/iiif/3/ms%2F0001', '2', { kind: 'base', version: '3', prefix: '/iiif/3', identifier: 'ms%2F0001' }],
    ['/iiif/ms%2F0001', '2', { kind: 'base', version: '2', prefix: '/iiif', identifier: 'ms%2F0001' }],
    // info.json
    ['/iiif/2/grid/info.json', '3', { kind: 'info', version: '2', prefix: '/iiif/2', identifier: 'grid' }],
    ['/iiif/3/ms%2F0001/info.json', '2', { kind: 'info', version: '3', prefix: '/iiif/3', identifier: 'ms%2F0001' }],
    ['/iiif/grid/info.json', '2', { kind: 'info', version: '2', prefix: '/iiif', identifier: 'grid' }],
    ['/iiif/grid/info.json', '3', { kind: 'info', version: '3', prefix: '/iiif', identifier: 'grid' }],
    ['/iiif/3/gr%69d/info.json', '2', { kind: 'info', version: '3', prefix: '/iiif/3', identifier: 'gr%69d' }],
    // after the version, 2, 3 and presets are identifiers like any other
    ['/iiif/2/3/info.json', '3', { kind: 'info', version: '2', prefix: '/iiif/2', identifier: '3' }],
    ['/iiif/3/presets/info.json', '2', { kind: 'info', version: '3', prefix: '/iiif/3', identifier: 'presets' }],
    // images
    ['/iiif/3/ms%2F0001/full/max/0/default.jpg', '2', { kind: 'image', version: '3', prefix: '/iiif/3', segments: { identifier: 'ms%2F0001', region: 'full', size: 'max', rotation: '0', qualityFormat: 'default.jpg' } }],
    ['/iiif/2/grid/0,0,10,10/10,/!90/gray.png', '3', { kind: 'image', version: '2', prefix: '/iiif/2', segments: { identifier: 'grid', region: '0,0,10,10', size: '10,', rotation: '!90', qualityFormat: 'gray.png' } }],
    ['/iiif/grid/full/max/0/default.jpg', '3', { kind: 'image', version: '3', prefix: '/iiif', segments: { identifier: 'grid', region: 'full', size: 'max', rotation: '0', qualityFormat: 'default.jpg' } }],
    // malformed parts still route: lib/iiif answers 400 naming the part
    ['/iiif/3/grid/%3Cscript%3E/max/0/default.jpg', '2', { kind: 'image', version: '3', prefix: '/iiif/3', segments: { identifier: 'grid', region: '%3Cscript%3E', size: 'max', rotation: '0', qualityFormat: 'default.jpg' } }],
    // presets
    ['/iiif/presets/ms%2F0001', '2', { kind: 'presets', identifier: 'ms%2F0001' }],
  ])('routes %s (default version %s)', (path, defaultVersion, expected) => {
    // Act and assess
    expect(route(path, defaultVersion)).toEqual(expected);
  });

  it.each([
    ['an identifier with an unescaped slash, info.json', '/iiif/3/ms/0001/info.json'],
    ['an identifier with an unescaped slash, image', '/iiif/3/ms/0001/full/max/0/default.jpg'],
    ['an unescaped slash in a default-version identifier', '/iiif/ms/0001/info.json'],
    ['a second segment other than info.json', '/iiif/3/grid/info.xml'],
    ['an image path one segment short', '/iiif/3/grid/full/max/0'],
    ['an image path one segment long', '/iiif/3/grid/full/max/0/default.jpg/more'],
    ['a version with nothing after it', '/iiif/3'],
    ['the root of the service', '/iiif'],
    ['the root of the site', '/'],
    ['a path outside /iiif/', '/favicon.ico'],
    ['a prefix that only starts like /iiif', '/iiifx/grid/info.json'],
    ['presets without an identifier', '/iiif/presets'],
    ['presets with an unescaped slash', '/iiif/presets/ms/0001'],
    ['an empty path', ''],
  ])('finds nothing for %s', (_what, path) => {
    // Act and assess
    expect(route(path, '3')).toEqual(NOT_FOUND);
  });

  it(`routes a path of exactly ${MAX_PATH_LENGTH} characters and refuses one longer, before looking at it`, () => {
    // Prepare
    const head = '/iiif/3/';
    const tail = '/info.json';
    const longest = `${head}${'a'.repeat(MAX_PATH_LENGTH - head.length - tail.length)}${tail}`;
    const tooLong = `${head}${'a'.repeat(MAX_PATH_LENGTH - head.length - tail.length + 1)}${tail}`;

    // Act
    const routed = route(longest, '3');
    const refused = route(tooLong, '3');

    // Assess
    expect(longest).toHaveLength(8192);
    expect(routed.kind).toBe('info');
    expect(refused).toEqual(NOT_FOUND);
  });
});
