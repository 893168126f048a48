/**
 * Node HTTP ⇄ API Gateway HTTP API (payload 2.0): the local stack turns each request into the
 * event API Gateway would send and calls the same handler the Lambda runs.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { GatewayResult } from '../../lib/http/apigw.js';
import type { GatewayHandler } from '../../lib/entry/iiif.js';

/** API Gateway gives an integration 30 s; the local stack gives the handler the same. */
export const LOCAL_INVOCATION_MS = 30_000;

export function toGatewayEvent(request: IncomingMessage): APIGatewayProxyEventV2 {
  const url = request.url ?? '/';
  const queryAt = url.indexOf('?');
  const rawPath = queryAt < 0 ? url : url.slice(0, queryAt);
  const rawQueryString = queryAt < 0 ? '' : url.slice(queryAt + 1);
  // Every value of a repeated header, joined as API Gateway joins them: node's `headers` keeps
  // only the first Authorization (or Host, …), so two tokens would pass here and fail on Lambda.
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(request.headersDistinct)) {
    if (values !== undefined) headers[name] = values.join(', ');
  }
  headers['x-forwarded-proto'] = 'http';
  const host = headers.host ?? '127.0.0.1';
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: host,
      domainPrefix: host.split('.')[0] ?? host,
      http: {
        method: request.method ?? 'GET',
        path: rawPath,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
}

/** Call the handler as Lambda would and write its result. */
export async function serveThroughGateway(handler: GatewayHandler, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const event = toGatewayEvent(request);
  const started = Date.now();
  const result = await handler(event, { getRemainingTimeInMillis: () => LOCAL_INVOCATION_MS - (Date.now() - started) });
  writeResult(result, response);
}

function writeResult(result: GatewayResult, response: ServerResponse): void {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  const body = result.body ?? '';
  response.writeHead(result.statusCode ?? 200, headers);
  response.end(result.isBase64Encoded === true ? Buffer.from(body, 'base64') : body);
}
