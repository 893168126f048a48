/**
 * The image's presets (`GET /iiif/presets/{id}`, lib/http/presets-route.ts): each named
 * derivative with its IIIF URL and size, as links; following one shows it in the result figure
 * (with the token, which a plain link could not send). A preset that does not apply to this image
 * is listed with the service's reason instead of a link.
 */
import type { Session } from './http.js';
import { RequestError } from './http.js';
import type { ResultFigure } from './result.js';
import { SourceHealth } from './source-health.js';

export interface PresetsOptions {
  /** Whether the source can be served; presets of a source that cannot are not offered. */
  readonly health: SourceHealth;
  /** Told the URL of the preset chosen (the URL builder shows it). */
  readonly onChoose: (url: string) => void;
}

export type PresetEntry =
  | { readonly name: string; readonly url: string; readonly width?: number; readonly height?: number; readonly description?: string }
  | { readonly name: string; readonly unavailable: string; readonly description?: string };

/**
 * The presets in an answer of `/iiif/presets/{id}`:
 * `{ presets: [{ name, url, width, height, description? } | { name, error, detail, description? }] }`.
 * Entries without a name, or with neither a URL nor a reason, are skipped.
 */
export function readPresets(answer: unknown): PresetEntry[] {
  const list = typeof answer === 'object' && answer !== null && 'presets' in answer ? answer.presets : undefined;
  if (!Array.isArray(list)) return [];
  return list.flatMap((entry: unknown): PresetEntry[] => {
    const { name, url, width, height, detail, description } = (entry ?? {}) as Record<string, unknown>;
    if (typeof name !== 'string') return [];
    const about = typeof description === 'string' ? { description } : {};
    if (typeof url === 'string') {
      return [{ name, url, ...about, ...(typeof width === 'number' && typeof height === 'number' ? { width, height } : {}) }];
    }
    return typeof detail === 'string' ? [{ name, unavailable: detail, ...about }] : [];
  });
}

export async function showPresets(list: HTMLElement, status: HTMLElement, encodedIdentifier: string, session: Session, result: ResultFigure, options: PresetsOptions): Promise<void> {
  const { health } = options;
  let presets: PresetEntry[];
  try {
    presets = readPresets(await session.json(`/iiif/presets/${encodedIdentifier}`));
  } catch (error) {
    if (error instanceof RequestError && SourceHealth.isAboutSource(error)) health.fail(error);
    status.textContent = error instanceof RequestError && error.status === 404 && error.code === 'NOT_FOUND'
      ? 'This stack serves no presets.'
      : `Could not load presets: ${error instanceof Error ? error.message : String(error)}`;
    return;
  }
  // The list is made from the source's size alone; whether its pixels can be read is the
  // viewer's to find out, before or after this.
  health.onFailure((failure) => {
    list.replaceChildren();
    status.textContent = `No preset can be made: the service cannot make images of this source (${failure.message}).`;
  });
  if (health.failure !== undefined) return;
  const usable = presets.filter((preset) => 'url' in preset).length;
  status.textContent = presets.length === 0 ? 'No presets are defined.' : `${usable} of ${presets.length} presets apply to this image; choose one to see it below.`;
  for (const preset of presets) list.append(presetItem(preset, session, result, options.onChoose));
}

function presetItem(preset: PresetEntry, session: Session, result: ResultFigure, onChoose: (url: string) => void): HTMLLIElement {
  const item = document.createElement('li');
  if ('unavailable' in preset) {
    const name = document.createElement('strong');
    name.textContent = preset.name;
    item.append(name, `: not for this image. ${preset.unavailable}`);
    return item;
  }
  const link = document.createElement('a');
  link.href = preset.url;
  link.textContent = preset.name;
  link.className = 'preset';
  link.addEventListener('click', (event) => {
    // Modified clicks (new tab, download) keep their meaning.
    if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    onChoose(preset.url);
    void result.show(preset.url, session);
  });
  const size = preset.width === undefined || preset.height === undefined ? '' : ` (${preset.width} × ${preset.height})`;
  item.append(link, size);
  if (preset.description !== undefined) item.append(`: ${preset.description}`);
  const code = document.createElement('code');
  code.textContent = new URL(preset.url, location.href).pathname;
  item.append(document.createElement('br'), code);
  return item;
}
