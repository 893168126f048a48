/**
 * API Gateway events in, HttpRequest; HttpResponse out, API Gateway results. The only place
 * that knows the event shapes: HTTP API payload 2.0, and REST API payload 1.0.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayProxyResult, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { HttpRequest, HttpResponse } from './types.js';

export type GatewayEvent = APIGatewayProxyEventV2 | APIGatewayProxyEvent;
export type GatewayResult = APIGatewayProxyStructuredResultV2 | APIGatewayProxyResult;

export function isHttpApiEvent(event: GatewayEvent): event is APIGatewayProxyEventV2 {
  return 'version' in event && event.version === '2.0';
}

/** The request as lib/http sees it. The query string is dropped: nothing reads it (tokens in it are ignored). */
export function fromGatewayEvent(event: GatewayEvent): HttpRequest {
  if (isHttpApiEvent(event)) {
    const { http, domainName, stage } = event.requestContext;
    return request(http.method, event.rawPath, lowerCase(event.headers), domainName, stage);
  }
  // `headers` holds only the last value of a repeated header; `multiValueHeaders` holds them all,
  // and wins (two Authorization headers must reach parseBearer as two, to be refused).
  const headers = lowerCase(event.headers);
  for (const [name, values] of Object.entries(event.multiValueHeaders)) {
    if (values !== undefined && values.length > 0) headers[name.toLowerCase()] = values.join(', ');
  }
  // REST APIs give the path without the stage; requestContext.path has it.
  return request(event.httpMethod, event.path, headers, event.requestContext.domainName ?? headers.host ?? 'localhost', event.requestContext.stage);
}

function request(method: string, rawPath: string, headers: Record<string, string>, domainName: string, stage: string): HttpRequest {
  const stagePrefix = stage === '$default' || stage === '' ? '' : `/${stage}`;
  // HTTP APIs keep a named stage in rawPath; it belongs to the base URL, not the route.
  const path = stagePrefix !== '' && rawPath.startsWith(`${stagePrefix}/`) ? rawPath.slice(stagePrefix.length) : rawPath;
  const scheme = headers['x-forwarded-proto']?.split(',')[0]?.trim() === 'http' ? 'http' : 'https';
  return {
    method: method.toUpperCase(),
    path,
    headers,
    baseUrl: `${scheme}://${domainName}${stagePrefix}`,
  };
}

function lowerCase(headers: Readonly<Record<string, string | undefined>> | null | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) result[name.toLowerCase()] = value;
  }
  return result;
}

export function toGatewayResult(response: HttpResponse): GatewayResult {
  return {
    statusCode: response.status,
    headers: { ...response.headers },
    body: response.body,
    isBase64Encoded: false,
  };
}
