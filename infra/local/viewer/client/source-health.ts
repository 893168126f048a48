/**
 * Whether the service can make images of the page's source at all. The viewer finds out first
 * (info.json, then its tiles); an error that is about the source itself (it cannot be read, is
 * too large, is in a format Recto does not read, is gone) is told to the rest of the page, so the
 * presets do not offer derivatives that cannot be made.
 */
import type { RequestError } from './http.js';

/** Error codes that mean no image of this source can be made, whatever is asked. */
const SOURCE_ERRORS: ReadonlySet<string> = new Set(['SOURCE_UNREADABLE', 'SOURCE_TOO_LARGE', 'SOURCE_FORMAT_NOT_SUPPORTED', 'SOURCE_NOT_FOUND']);

export class SourceHealth {
  #failure: RequestError | undefined;
  readonly #listeners: ((failure: RequestError) => void)[] = [];

  /** Whether this answer says the source itself cannot be served. */
  static isAboutSource(error: RequestError): boolean {
    return error.code !== undefined && SOURCE_ERRORS.has(error.code);
  }

  /** The first failure reported, if any. */
  get failure(): RequestError | undefined {
    return this.#failure;
  }

  /** Report an answer about the source; the first one is kept and told to every listener. */
  fail(error: RequestError): void {
    if (this.#failure !== undefined) return;
    this.#failure = error;
    for (const listener of this.#listeners) listener(error);
  }

  /** Call `listener` once the source is known to be unusable (at once, if it already is). */
  onFailure(listener: (failure: RequestError) => void): void {
    if (this.#failure !== undefined) listener(this.#failure);
    else this.#listeners.push(listener);
  }
}
