/**
 * What the viewer test asserts about each tile it saw drawn: the tile's IIIF URL was answered by
 * Recto with a 302 to storage, sent with the token; storage answered the GET of that redirect's
 * Location with a 200, and the token was not sent there. Matching by URL (not by counting events
 * at one instant) makes the check independent of when the browser's events reach the test.
 */

/** One response the page received, as the test records it. */
export interface Exchange {
  readonly url: string;
  readonly status: number;
  /** The Authorization header that went on the wire, if any. */
  readonly authorization: string | undefined;
  /** The Location header of a redirect. */
  readonly location?: string | undefined;
}

export interface TileTraffic {
  /** Image requests to Recto and their answers. */
  readonly recto: readonly Exchange[];
  /** Requests to storage and their answers. */
  readonly storage: readonly Exchange[];
}

/**
 * Everything wrong with how the drawn tiles reached the page, one line per problem; empty when
 * every tile came through a 302 with the token and a 200 from storage without it.
 */
export function tileTrafficProblems(drawn: readonly string[], traffic: TileTraffic): string[] {
  const problems: string[] = [];
  for (const url of new Set(drawn)) {
    const answers = traffic.recto.filter((exchange) => exchange.url === url);
    const redirect = answers.find((exchange) => exchange.status === 302 && exchange.location !== undefined);
    if (redirect === undefined) {
      problems.push(`${url}: no 302 from Recto (answers: ${answers.map((exchange) => exchange.status).join(', ') || 'none'})`);
      continue;
    }
    if (redirect.authorization?.startsWith('Bearer ') !== true) problems.push(`${url}: sent to Recto without the token`);
    const fetched = traffic.storage.filter((exchange) => exchange.url === redirect.location);
    if (!fetched.some((exchange) => exchange.status === 200)) {
      problems.push(`${url}: its Location was not answered 200 by storage (answers: ${fetched.map((exchange) => exchange.status).join(', ') || 'none'})`);
    }
    if (fetched.some((exchange) => exchange.authorization !== undefined)) problems.push(`${url}: the token was sent to storage`);
  }
  return problems;
}
