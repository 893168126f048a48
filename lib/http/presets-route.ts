/**
 * `GET /iiif/presets/{id}` (read scope): the "repurpose links" staff tools show beside an image,
 * each preset's full IIIF URL for it. Presets that do not apply to this image (a region outside
 * it, a 3.0 size larger than it) are listed with the reason instead of a URL, so every listed URL
 * answers.
 *
 * ```json
 * { "id": "ms%2F0001",
 *   "presets": [ { "name": "thumbnail", "api": "3", "url": "https://…/iiif/3/ms%2F0001/full/!400,400/0/default.jpg", "width": 400, "height": 300 },
 *                { "name": "web", "api": "3", "error": "IIIF_UPSCALE_NOT_ALLOWED", "detail": "Expected …" } ] }
 * ```
 */
import type { Authenticator, Principal } from '../auth/index.js';
import type { Config } from '../config.js';
import { RectoError } from '../errors.js';
import { decodeIdentifier, resolve } from '../iiif/index.js';
import { newTrace, type ImageService } from '../service/images.js';
import { presetRequest, type Presets } from '../service/presets.js';
import { COMMON_HEADERS } from './headers.js';
import type { Route } from './router.js';
import type { HttpRequest, HttpResponse } from './types.js';

/** The list changes only with the deployment's presets or the source: cache like info.json. */
const PRESETS_MAX_AGE_SECONDS = 300;

export type PresetLink =
  | { readonly name: string; readonly api: string; readonly url: string; readonly width: number; readonly height: number; readonly description?: string }
  | { readonly name: string; readonly api: string; readonly error: string; readonly detail: string; readonly description?: string };

export type PresetsRoute = (route: Extract<Route, { kind: 'presets' }>, request: HttpRequest, principal: Principal) => Promise<HttpResponse>;

export function createPresetsRoute(services: { readonly config: Config; readonly images: ImageService; readonly authenticator: Authenticator; readonly presets: Presets }): PresetsRoute {
  const { config, images, authenticator, presets } = services;
  return async (target, request: HttpRequest, principal: Principal): Promise<HttpResponse> => {
    const identifier = decodeIdentifier(target.identifier);
    // As for info.json: only a caller who may render may cause a write (of the source record).
    const record = await images.info(identifier, newTrace(), authenticator.can(principal, 'render'));
    const base = config.publicBaseUrl ?? request.baseUrl;
    const links: PresetLink[] = [];
    for (const preset of presets.values()) {
      const description = preset.description === undefined ? {} : { description: preset.description };
      try {
        const plan = resolve(presetRequest(preset, identifier), record.probe, config.limits);
        links.push({
          name: preset.name,
          api: preset.api,
          // The identifier as the client spelt it, as info.json's id does.
          url: `${base}/iiif/${preset.api}/${target.identifier}/${preset.path}`,
          width: plan.size.width,
          height: plan.size.height,
          ...description,
        });
      } catch (error) {
        if (!(error instanceof RectoError)) throw error;
        links.push({ name: preset.name, api: preset.api, error: error.code, detail: error.message, ...description });
      }
    }
    return {
      status: 200,
      headers: {
        ...COMMON_HEADERS,
        'content-type': 'application/json',
        'cache-control': `${principal.anonymous ? 'public' : 'private'}, max-age=${PRESETS_MAX_AGE_SECONDS}`,
      },
      body: JSON.stringify({ id: target.identifier, presets: links }),
    };
  };
}
