/**
 * lib/http/apigw.ts: API Gateway events in, HttpRequest out (HTTP API payload 2.0 and REST API
 * payload 1.0): the method upper-cased, the raw path with the stage taken out, header names in
 * lower case with repeated headers joined, the query string dropped, and the base URL the client
 * used (scheme from X-Forwarded-Proto, host, stage). And HttpResponse back to a gateway result.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { fromGatewayEvent, isHttpApiEvent, toGatewayResult } from '../../lib/http/apigw.js';

const DOMAIN = 'abc123.execute-api.eu-west-1.amazonaws.com';

/** An HTTP API (payload 2.0) event, as API Gateway sends it. */
function httpApiEvent(rawPath: string, options: { method?: string; stage?: string; headers?: Record<string, string>; rawQueryString?: string } = {}): APIGatewayProxyEventV2 {
  const stage = options.stage ?? '$default';
  const method = options.method ?? 'GET';
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: options.rawQueryString ?? '',
    headers: { host: DOMAIN, ...options.headers },
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: DOMAIN,
      domainPrefix: 'abc123',
      requestId: 'r-1',
      routeKey: '$default',
      stage,
      time: '25/Nov/2026:09:00:00 +0000',
      timeEpoch: 1_795_597_200_000,
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'test' },
    },
  };
}

/** A REST API (payload 1.0) event: `path` without the stage, both header maps filled in. */
function restEvent(path: string, options: { method?: string; stage?: string; multiValueHeaders?: Record<string, string[]>; domainName?: string } = {}): APIGatewayProxyEvent {
  const multiValueHeaders = { Host: [DOMAIN], ...options.multiValueHeaders };
  // API Gateway's `headers` holds the last value of each header.
  const headers = Object.fromEntries(Object.entries(multiValueHeaders).map(([name, values]) => [name, values[values.length - 1] ?? '']));
  const stage = options.stage ?? 'prod';
  return {
    resource: '/{proxy+}',
    path,
    httpMethod: options.method ?? 'GET',
    headers,
    multiValueHeaders,
    queryStringParameters: { access_token: 'ignored' },
    multiValueQueryStringParameters: { access_token: ['ignored'] },
    pathParameters: { proxy: path.slice(1) },
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      authorizer: undefined,
      ...(options.domainName === undefined ? {} : { domainName: options.domainName }),
      httpMethod: options.method ?? 'GET',
      identity: {
        accessKey: null, accountId: null, apiKey: null, apiKeyId: null, caller: null, clientCert: null, cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null, cognitoIdentityId: null, cognitoIdentityPoolId: null, principalOrgId: null, sourceIp: '203.0.113.7',
        user: null, userAgent: 'test', userArn: null,
      },
      path: `/${stage}${path}`,
      protocol: 'HTTP/1.1',
      requestId: 'r-1',
      requestTimeEpoch: 1_795_597_200_000,
      resourceId: 'res',
      resourcePath: '/{proxy+}',
      stage,
    },
  };
}

describe('fromGatewayEvent, HTTP API payload 2.0', () => {
  it('takes the raw path as it is (encoding kept), the method upper-cased, and https on the $default stage', () => {
    // Prepare
    const event = httpApiEvent('/iiif/3/ms%2F0001/info.json', { method: 'get', rawQueryString: 'access_token=abc' });

    // Act
    const request = fromGatewayEvent(event);

    // Assess
    expect(isHttpApiEvent(event)).toBe(true);
    expect(request).toEqual({ method: 'GET', path: '/iiif/3/ms%2F0001/info.json', headers: { host: DOMAIN }, baseUrl: `https://${DOMAIN}` });
  });

  it('moves a named stage from the path to the base URL', () => {
    // Act
    const request = fromGatewayEvent(httpApiEvent('/prod/iiif/3/grid/info.json', { stage: 'prod' }));

    // Assess
    expect({ path: request.path, baseUrl: request.baseUrl }).toEqual({ path: '/iiif/3/grid/info.json', baseUrl: `https://${DOMAIN}/prod` });
  });

  it('leaves a path that only starts like the stage name alone', () => {
    // Act
    const request = fromGatewayEvent(httpApiEvent('/production/iiif/3/grid/info.json', { stage: 'prod' }));

    // Assess
    expect(request.path).toBe('/production/iiif/3/grid/info.json');
  });

  it.each([
    ['http', 'http'],
    ['http, https', 'http'],
    [' http ,https', 'http'],
    ['https', 'https'],
    ['https, http', 'https'],
    ['ftp', 'https'],
  ])('takes the scheme from X-Forwarded-Proto %j as %s', (proto, scheme) => {
    // Act
    const request = fromGatewayEvent(httpApiEvent('/iiif/3/grid/info.json', { headers: { 'x-forwarded-proto': proto } }));

    // Assess
    expect(request.baseUrl).toBe(`${scheme}://${DOMAIN}`);
  });

  it('lower-cases header names and keeps the values API Gateway already joined', () => {
    // Act
    const request = fromGatewayEvent(httpApiEvent('/iiif/2/grid/info.json', { headers: { Accept: 'application/json,application/ld+json', Authorization: 'Bearer x.y.z' } }));

    // Assess
    expect(request.headers).toEqual({ host: DOMAIN, accept: 'application/json,application/ld+json', authorization: 'Bearer x.y.z' });
  });
});

describe('fromGatewayEvent, REST API payload 1.0', () => {
  it('takes the path (which has no stage), puts the stage in the base URL, and drops the query string', () => {
    // Prepare
    const event = restEvent('/iiif/3/ms%2F0001/full/max/0/default.jpg', { domainName: DOMAIN, method: 'head' });

    // Act
    const request = fromGatewayEvent(event);

    // Assess
    expect(isHttpApiEvent(event)).toBe(false);
    expect(request).toEqual({ method: 'HEAD', path: '/iiif/3/ms%2F0001/full/max/0/default.jpg', headers: { host: DOMAIN }, baseUrl: `https://${DOMAIN}/prod` });
  });

  it('takes the host from the Host header when the request context has no domain name', () => {
    // Act
    const request = fromGatewayEvent(restEvent('/iiif/3/grid/info.json', { multiValueHeaders: { Host: ['images.example.org'], 'X-Forwarded-Proto': ['http'] } }));

    // Assess
    expect(request.baseUrl).toBe('http://images.example.org/prod');
  });

  it('joins a header that appears only in multiValueHeaders', () => {
    // Prepare
    const event = { ...restEvent('/iiif/2/grid/info.json', { domainName: DOMAIN }), headers: {}, multiValueHeaders: { Accept: ['text/html', 'application/ld+json'] } };

    // Act
    const request = fromGatewayEvent(event);

    // Assess
    expect(request.headers).toEqual({ accept: 'text/html, application/ld+json' });
  });

  // API Gateway fills `headers` with the last value of each header and `multiValueHeaders` with
  // all of them; lib/http/apigw.ts (line 25) joins the multi-value ones and then overwrites them
  // with `headers`, so only the last value of a repeated header survives.
  it('joins the values of a repeated header with ", " when the event carries both header maps, as API Gateway sends them', () => {
    // Prepare
    const event = restEvent('/iiif/2/grid/info.json', { domainName: DOMAIN, multiValueHeaders: { Accept: ['application/ld+json', 'text/html'] } });
    expect(event.headers.Accept).toBe('text/html');

    // Act
    const request = fromGatewayEvent(event);

    // Assess
    expect(request.headers.accept).toBe('application/ld+json, text/html');
  });
});

describe('toGatewayResult', () => {
  it('gives status, a copy of the headers and the body, never base64', () => {
    // Prepare
    const headers = { location: 'https://bucket.example/key?X-Amz-Signature=abc', 'cache-control': 'private, max-age=900' };

    // Act
    const result = toGatewayResult({ status: 302, headers, body: '' });

    // Assess
    expect(result).toEqual({ statusCode: 302, headers, body: '', isBase64Encoded: false });
    expect((result as { headers: object }).headers).not.toBe(headers);
  });
});
