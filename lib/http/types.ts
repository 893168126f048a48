/** The HTTP shapes lib/http works in; apigw.ts translates API Gateway events to and from them. */

export interface HttpRequest {
  /** Upper-case method. */
  readonly method: string;
  /** The raw (still percent-encoded) path, stage removed, starting with "/". No query string. */
  readonly path: string;
  /** Header names lower-case; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  /** scheme://host[/stage] as the client reached us, without a trailing slash. */
  readonly baseUrl: string;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface HandleOptions {
  /** Epoch ms by which an answer must be sent (the Lambda deadline). */
  readonly deadline?: number;
}
