/**
 * The viewer test's tile check bites: a tile that skipped the redirect, lost its token, or took
 * the token to storage is reported. (The check runs against a real browser in viewer.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { tileTrafficProblems, type Exchange, type TileTraffic } from './tile-traffic.js';

const TILE = 'http://127.0.0.1:3000/iiif/3/zoom-grid/0,0,512,512/512,512/0/default.jpg';
const STORED = 'http://127.0.0.1:4569/recto-derivatives/zoom-grid/0,0,512,512/512,512/0/default.jpg?X-Amz-Signature=ab';
const TOKEN = 'Bearer eyJ.token.sig';

function traffic(recto: Exchange[], storage: Exchange[]): TileTraffic {
  return { recto, storage };
}

describe('the tile traffic check', () => {
  it('finds nothing wrong with a 302 sent with the token and a 200 from storage without it', () => {
    // Act
    const problems = tileTrafficProblems([TILE], traffic([{ url: TILE, status: 302, authorization: TOKEN, location: STORED }], [{ url: STORED, status: 200, authorization: undefined }]));

    // Assess
    expect(problems).toEqual([]);
  });

  it('reports a tile that bypassed the redirect (Recto answered 200 itself)', () => {
    // Act
    const problems = tileTrafficProblems([TILE], traffic([{ url: TILE, status: 200, authorization: TOKEN }], []));

    // Assess
    expect(problems).toEqual([`${TILE}: no 302 from Recto (answers: 200)`]);
  });

  it('reports a tile drawn with no request seen at all', () => {
    // Act
    const problems = tileTrafficProblems([TILE], traffic([], []));

    // Assess
    expect(problems).toEqual([`${TILE}: no 302 from Recto (answers: none)`]);
  });

  it('reports the token sent to storage, and a tile sent to Recto without it', () => {
    // Act
    const problems = tileTrafficProblems([TILE], traffic([{ url: TILE, status: 302, authorization: undefined, location: STORED }], [{ url: STORED, status: 200, authorization: TOKEN }]));

    // Assess
    expect(problems).toEqual([`${TILE}: sent to Recto without the token`, `${TILE}: the token was sent to storage`]);
  });

  it('reports a redirect whose Location storage refused', () => {
    // Act
    const problems = tileTrafficProblems([TILE], traffic([{ url: TILE, status: 302, authorization: TOKEN, location: STORED }], [{ url: STORED, status: 403, authorization: undefined }]));

    // Assess
    expect(problems).toEqual([`${TILE}: its Location was not answered 200 by storage (answers: 403)`]);
  });
});
