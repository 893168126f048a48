/**
 * The Lambda entry for the IIIF function: builds the app once per cold start (lazily, so an
 * import costs nothing), then adapts each event. The local stack calls the same function.
 */
import { getConfig } from '../config.js';
import { fromGatewayEvent, toGatewayResult, type GatewayEvent, type GatewayResult } from '../http/apigw.js';
import { createHttpApp, type HttpApp } from '../http/app.js';
import { invocationDeadline, type InvocationContext } from './deadline.js';
import { createServices, type Services } from './wiring.js';

/** Milliseconds kept back from the Lambda deadline so an answer always leaves in time. */
const DEADLINE_MARGIN_MS = 1500;

export type GatewayHandler = (event: GatewayEvent, context?: InvocationContext) => Promise<GatewayResult>;

export function createGatewayHandler(makeApp: () => HttpApp = defaultApp): GatewayHandler {
  let app: HttpApp | undefined;
  return async (event, context) => {
    app ??= makeApp();
    const deadline = context === undefined ? undefined : invocationDeadline(context, () => DEADLINE_MARGIN_MS);
    const response = await app.handle(fromGatewayEvent(event), deadline === undefined ? {} : { deadline });
    return toGatewayResult(response);
  };
}

function defaultApp(): HttpApp {
  return createApp(createServices(getConfig()));
}

/** The IIIF application over a set of services, as the Lambda and the local stack both run it. */
export function createApp(services: Services): HttpApp {
  if (!services.config.auth.enabled) {
    services.logger.warn('IIIF_AUTH=off: every client may read and render. Use this only for local development and conformance runs.');
  }
  return createHttpApp(services);
}
