/** API Gateway (HTTP API 2.0 or REST 1.0) → the IIIF application. Thin by design. */
import { createGatewayHandler } from '../../lib/entry/iiif.js';

export const handler = createGatewayHandler();
