/**
 * One structured line per request (Powertools Logger, JSON) and the matching metrics in EMF
 * (Powertools Metrics). Never logs headers, tokens, query strings or presigned URLs: only
 * method, path, status and what the request did.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { RequestTrace } from '../service/images.js';
import type { HttpRequest, HttpResponse } from './types.js';

/** Paths are logged cut to this length: a 10 KB hostile path is not worth 10 KB of logs. */
const MAX_LOGGED_PATH = 512;

export class RequestLog {
  constructor(
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  record(request: HttpRequest, response: HttpResponse, trace: RequestTrace, totalMs: number): void {
    const fields = {
      method: request.method,
      path: request.path.length > MAX_LOGGED_PATH ? `${request.path.slice(0, MAX_LOGGED_PATH)}…` : request.path,
      status: response.status,
      ...(trace.cache === undefined ? {} : { cache: trace.cache }),
      sourceBytes: trace.sourceBytesRead,
      ...(trace.renderMs === undefined ? {} : { renderMs: trace.renderMs }),
      ...(trace.uploadMs === undefined ? {} : { uploadMs: trace.uploadMs }),
      ...(trace.stored === undefined ? {} : { stored: trace.stored }),
      ...(trace.deferred === true ? { deferred: true } : {}),
      ...(trace.error === undefined ? {} : { error: trace.error }),
      totalMs,
    };
    if (response.status >= 500) this.logger.warn('request', fields);
    else this.logger.info('request', fields);
    this.#emitMetrics(response, trace, totalMs);
  }

  #emitMetrics(response: HttpResponse, trace: RequestTrace, totalMs: number): void {
    const { metrics } = this;
    if (trace.cache === 'hit') metrics.addMetric('CacheHit', MetricUnit.Count, 1);
    if (trace.cache === 'miss') metrics.addMetric('CacheMiss', MetricUnit.Count, 1);
    if (trace.renderMs !== undefined) metrics.addMetric('RenderTime', MetricUnit.Milliseconds, trace.renderMs);
    if (trace.sourceBytesRead > 0) metrics.addMetric('SourceBytesRead', MetricUnit.Bytes, trace.sourceBytesRead);
    if (trace.deferred === true) metrics.addMetric('RenderDeferred', MetricUnit.Count, 1);
    if (response.status >= 500) metrics.addMetric('ServerError', MetricUnit.Count, 1);
    else if (response.status >= 400) metrics.addMetric('ClientError', MetricUnit.Count, 1);
    metrics.addMetric('Latency', MetricUnit.Milliseconds, totalMs);
    metrics.publishStoredMetrics();
  }
}
