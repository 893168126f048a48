/**
 * The result figure: shows one IIIF image fetched with the token (from the URL builder or a
 * preset link), with what came back: pixel size, media type, bytes, time.
 */
import { formatBytes, type Session } from './http.js';

export class ResultFigure {
  readonly #image: HTMLImageElement;
  readonly #status: HTMLElement;
  #objectUrl: string | undefined;
  /** Only the latest request may fill the figure, whatever order answers arrive in. */
  #generation = 0;

  constructor(image: HTMLImageElement, status: HTMLElement) {
    this.#image = image;
    this.#status = status;
  }

  /** Show nothing, with this caption (the form no longer describes the image shown). */
  clear(caption: string): void {
    this.#generation += 1;
    this.#image.hidden = true;
    this.#image.removeAttribute('src');
    this.#image.alt = '';
    this.#status.textContent = caption;
    if (this.#objectUrl !== undefined) URL.revokeObjectURL(this.#objectUrl);
    this.#objectUrl = undefined;
  }

  async show(url: string, session: Session): Promise<void> {
    const generation = ++this.#generation;
    const started = performance.now();
    this.#status.textContent = `Loading ${url}…`;
    let blob: Blob;
    try {
      blob = await session.image(url, (seconds) => {
        if (generation === this.#generation) this.#status.textContent = `Rendering; trying again in ${seconds} s…`;
      });
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#image.hidden = true;
      this.#status.textContent = error instanceof Error ? error.message : String(error);
      return;
    }
    if (generation !== this.#generation) return;
    const objectUrl = URL.createObjectURL(blob);
    const loadedIn = Math.round(performance.now() - started);
    this.#image.onload = () => {
      this.#status.textContent = `${this.#image.naturalWidth} × ${this.#image.naturalHeight} px, ${blob.type || 'unknown type'}, ${formatBytes(blob.size)}, ${loadedIn} ms`;
    };
    this.#image.onerror = () => {
      // TIFF (and whatever else the browser cannot draw) still arrived: say what it was.
      this.#image.hidden = true;
      this.#status.textContent = `Received ${blob.type || 'an image'} (${formatBytes(blob.size)}, ${loadedIn} ms), which this browser cannot display.`;
    };
    this.#image.alt = `Result of ${url}`;
    this.#image.src = objectUrl;
    this.#image.hidden = false;
    if (this.#objectUrl !== undefined) URL.revokeObjectURL(this.#objectUrl);
    this.#objectUrl = objectUrl;
  }
}
