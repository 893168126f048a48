/**
 * The IIIF HTTP application: a request flows through small named steps (method, route, auth,
 * use case, response) and every error becomes a response in errors.ts. No API Gateway types
 * here: apigw.ts adapts events to HttpRequest and back.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Authenticator, Principal } from '../auth/index.js';
import type { Config } from '../config.js';
import { NotFoundError, RectoError, quote } from '../errors.js';
import { decodeIdentifier, parseImageRequest, versionModule, canonicalUrl, type ApiVersion } from '../iiif/index.js';
import { newTrace, type ImageService, type RequestTrace } from '../service/images.js';
import type { Presets } from '../service/presets.js';
import { errorResponse } from './errors.js';
import { ALLOWED_METHODS, COMMON_HEADERS, PREFLIGHT_HEADERS, imageLinkHeader } from './headers.js';
import { createPresetsRoute } from './presets-route.js';
import { RequestLog } from './request-log.js';
import { route, type Route } from './router.js';
import type { HandleOptions, HttpRequest, HttpResponse } from './types.js';

/** info.json may be cached briefly: a replaced source shows within this many seconds. */
const INFO_MAX_AGE_SECONDS = 300;

export interface HttpApp {
  handle(request: HttpRequest, options?: HandleOptions): Promise<HttpResponse>;
}

/** What the application is built from (the wiring's Services has it all). */
export interface AppServices {
  readonly config: Config;
  readonly authenticator: Authenticator;
  readonly images: ImageService;
  readonly presets: Presets;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export function createHttpApp(services: AppServices): HttpApp {
  const { config, authenticator, images, logger } = services;
  const log = new RequestLog(logger, services.metrics);
  const presets = createPresetsRoute(services);

  async function authenticate(request: HttpRequest, access: 'read'): Promise<Principal> {
    const principal = await authenticator.authenticate(request.headers.authorization);
    authenticator.authorize(principal, access);
    return principal;
  }

  async function info(request: HttpRequest, target: Extract<Route, { kind: 'info' }>, trace: RequestTrace): Promise<HttpResponse> {
    const identifier = decodeIdentifier(target.identifier);
    const principal = await authenticate(request, 'read');
    // Only a caller who may render may write, even a source record: anonymous and read-only
    // clients never cause a write.
    const record = await images.info(identifier, trace, authenticator.can(principal, 'render'));
    const module = versionModule(target.version);
    const document = module.infoDocument(record.probe, {
      // The id is the URL the client used, minus /info.json, byte for byte.
      id: `${config.publicBaseUrl ?? request.baseUrl}${target.prefix}/${target.identifier}`,
      limits: config.limits,
      tileSize: config.tileSize,
    });
    return {
      status: 200,
      headers: {
        ...COMMON_HEADERS,
        'content-type': module.infoMediaType(request.headers.accept),
        ...(module.infoVariesByAccept ? { vary: 'Accept' } : {}),
        'cache-control': `${principal.anonymous ? 'public' : 'private'}, max-age=${INFO_MAX_AGE_SECONDS}`,
        link: `<${module.profileUrl}>;rel="profile"`,
      },
      body: JSON.stringify(document),
    };
  }

  async function image(request: HttpRequest, target: Extract<Route, { kind: 'image' }>, trace: RequestTrace, options: HandleOptions): Promise<HttpResponse> {
    // Parse first: a malformed request costs no signature check and no S3 call.
    const parsed = parseImageRequest(target.version, target.segments);
    const principal = await authenticate(request, 'read');
    const answer = await images.image(parsed, {
      authorizeRender: () => {
        authenticator.authorize(principal, 'render');
      },
      mayWrite: authenticator.can(principal, 'render'),
      ...(principal.subject === undefined ? {} : { caller: principal.subject }),
      ...(options.deadline === undefined ? {} : { deadline: options.deadline }),
      trace,
    });
    const signed = answer.location;
    const serviceBase = `${config.publicBaseUrl ?? request.baseUrl}${target.prefix}`;
    return {
      status: 302,
      headers: {
        ...COMMON_HEADERS,
        location: signed.url,
        'cache-control': `private, max-age=${signed.maxAgeSeconds}`,
        link: imageLinkHeader(versionModule(target.version).profileUrl, canonicalUrl(serviceBase, target.version, answer.plan)),
      },
      body: '',
    };
  }

  function baseRedirect(request: HttpRequest, target: { prefix: string; identifier: string; version: ApiVersion }): HttpResponse {
    decodeIdentifier(target.identifier); // a malformed identifier is a 400 here too
    return {
      status: 303,
      headers: { ...COMMON_HEADERS, location: `${config.publicBaseUrl ?? request.baseUrl}${target.prefix}/${target.identifier}/info.json` },
      body: '',
    };
  }

  async function dispatch(request: HttpRequest, trace: RequestTrace, options: HandleOptions): Promise<HttpResponse> {
    if (request.method === 'OPTIONS') return { status: 204, headers: { ...COMMON_HEADERS, ...PREFLIGHT_HEADERS }, body: '' };
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      throw new RectoError('METHOD_NOT_ALLOWED', `Expected GET, HEAD or OPTIONS but received ${quote(request.method)}`, {
        headers: { allow: ALLOWED_METHODS },
      });
    }
    const target = route(request.path, config.defaultVersion);
    switch (target.kind) {
      case 'base':
        return baseRedirect(request, target);
      case 'info':
        return info(request, target, trace);
      case 'image':
        return image(request, target, trace, options);
      case 'presets': {
        const principal = await authenticate(request, 'read');
        return presets(target, request, principal);
      }
      case 'not-found':
        break;
    }
    throw new NotFoundError('NOT_FOUND', 'No IIIF route matches this path. Expected /iiif/{2|3}/{identifier}/info.json or /iiif/{2|3}/{identifier}/{region}/{size}/{rotation}/{quality}.{format}, with "/" in identifiers encoded as %2F.');
  }

  return {
    async handle(request, options = {}) {
      const started = Date.now();
      const trace = newTrace();
      let response: HttpResponse;
      try {
        response = await dispatch(request, trace, options);
      } catch (error) {
        trace.error = error instanceof RectoError ? error.code : 'INTERNAL_ERROR';
        response = errorResponse(error, logger);
      }
      log.record(request, response, trace, Date.now() - started);
      return request.method === 'HEAD' ? { ...response, body: '' } : response;
    },
  };
}
