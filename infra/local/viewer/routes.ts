/**
 * The local stack's own routes beside the IIIF API: the page at `/`, its assets under
 * `/viewer/`, and the loopback token endpoint. Everything else goes on to the gateway adapter.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Services } from '../../../lib/entry/wiring.js';
import { renderHomePage } from '../home-page.js';
import { VIEWER_ASSET_PATHS, viewerImage, viewerScript, viewerStyle, type Asset } from './assets.js';
import { LOCAL_TOKEN_PATH, LOCAL_TOKEN_TTL_SECONDS, serveLocalToken } from './token-endpoint.js';

export interface ViewerRoutesOptions {
  readonly services: Services;
  /** The port the stack listens on (the token endpoint accepts only its own Host). */
  readonly port: number;
  /** Mints a token the stack accepts (LocalStack.token). */
  readonly mint: (scopes: readonly string[], ttlSeconds: number) => Promise<string>;
}

/** Answers a request if it is one of these routes; false lets the caller route it on. */
export type ViewerRoutes = (request: IncomingMessage, response: ServerResponse) => Promise<boolean>;

export function createViewerRoutes(options: ViewerRoutesOptions): ViewerRoutes {
  const { config } = options.services;
  const tokenOptions = {
    port: options.port,
    authEnabled: config.auth.enabled,
    scopes: [config.auth.readScope, config.auth.renderScope],
    // The stack refuses tokens that live longer than JWT_MAX_TOKEN_AGE_SECONDS.
    ttlSeconds: Math.min(LOCAL_TOKEN_TTL_SECONDS, config.auth.maxTokenAgeSeconds),
    mint: options.mint,
  };

  return async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://local');
    // Match the path as sent, not as URL parsing resolves it: `/iiif/%2e%2e/local/token` and
    // `/iiif/..` belong to the IIIF router (a 400 for a ".." identifier), not to these routes.
    const pathname = (request.url ?? '/').split('?')[0] ?? '/';
    const readOnly = request.method === 'GET' || request.method === 'HEAD';
    if (pathname === LOCAL_TOKEN_PATH) {
      await serveLocalToken(request, response, tokenOptions);
      return true;
    }
    if (!readOnly) return false;
    if (pathname === '/') {
      const selected = url.searchParams.get('id');
      const page = await renderHomePage(options.services, selected === null ? {} : { selected });
      send(request, response, page.status, { body: Buffer.from(page.html), contentType: 'text/html; charset=utf-8' }, 'no-store');
      return true;
    }
    if (pathname === VIEWER_ASSET_PATHS.script) {
      send(request, response, 200, await viewerScript(), 'no-cache');
      return true;
    }
    if (pathname === VIEWER_ASSET_PATHS.style) {
      send(request, response, 200, await viewerStyle(), 'no-cache');
      return true;
    }
    if (pathname.startsWith(VIEWER_ASSET_PATHS.images)) {
      const image = await viewerImage(pathname.slice(VIEWER_ASSET_PATHS.images.length));
      if (image === undefined) return false;
      send(request, response, 200, image, 'max-age=86400');
      return true;
    }
    return false;
  };
}

function send(request: IncomingMessage, response: ServerResponse, status: number, asset: Asset, cacheControl: string): void {
  response.writeHead(status, {
    'content-type': asset.contentType,
    'content-length': asset.body.length,
    'cache-control': cacheControl,
    'x-content-type-options': 'nosniff',
  });
  response.end(request.method === 'HEAD' ? undefined : asset.body);
}
