/**
 * The Lambda entry for the IIIF function: builds the app once per cold start (lazily, so an
 * import costs nothing), then adapts each event. The local stack calls the same function.
 */
import type { Context } from 'aws-lambda';
import { getConfig } from '../config.js';
import { createServices, type Services } from '../service/services.js';
import { fromGatewayEvent, toGatewayResult, type GatewayEvent, type GatewayResult } from './apigw.js';
import { createHttpApp, type HttpApp } from './app.js';
import { loadPresets } from '../prewarm/presets.js';
import { createPresetsRoute } from './presets-route.js';

/** Milliseconds kept back from the Lambda deadline so an answer always leaves in time. */
const DEADLINE_MARGIN_MS = 1500;

export type GatewayHandler = (event: GatewayEvent, context?: Pick<Context, 'getRemainingTimeInMillis'>) => Promise<GatewayResult>;

export function createGatewayHandler(makeApp: () => HttpApp = defaultApp): GatewayHandler {
  let app: HttpApp | undefined;
  return async (event, context) => {
    app ??= makeApp();
    const deadline = context === undefined ? undefined : Date.now() + context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS;
    const response = await app.handle(fromGatewayEvent(event), deadline === undefined ? {} : { deadline });
    return toGatewayResult(response);
  };
}

function defaultApp(): HttpApp {
  return createApp(createServices(getConfig()));
}

/**
 * The IIIF application over a set of services, with the presets route, as the Lambda and the
 * local stack both run it. Loads and validates the presets (a bad file fails here, at cold start).
 */
export function createApp(services: Services): HttpApp {
  if (!services.config.auth.enabled) {
    services.logger.warn('IIIF_AUTH=off: every client may read and render. Use this only for local development and conformance runs.');
  }
  return createHttpApp(services, { presets: createPresetsRoute(services, loadPresets(services.config)) });
}
