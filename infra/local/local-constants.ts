/** Names and credentials of the local stack's embedded S3, shared by the stack and the scripts. */
export const LOCAL_SOURCE_BUCKET = 'recto-sources';
export const LOCAL_DERIVATIVE_BUCKET = 'recto-derivatives';
/** The embedded S3's only credentials: it verifies every signature with them (sigv4.ts). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
/** The embedded S3's region: a signature's credential scope must name it. */
export const LOCAL_REGION = 'us-east-1';
/** `npm start`'s ports when PORT and S3_PORT are not set. */
export const LOCAL_PORT = 3000;
export const LOCAL_S3_PORT = 4569;

/** The environment a process needs to reach the embedded S3 with the AWS SDK (and Recto's S3_ENDPOINT). */
export function localS3Environment(endpoint: URL): Record<'S3_ENDPOINT' | 'AWS_ACCESS_KEY_ID' | 'AWS_SECRET_ACCESS_KEY' | 'AWS_REGION', string> {
  return {
    S3_ENDPOINT: endpoint.href.replace(/\/$/, ''),
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_REGION: LOCAL_REGION,
  };
}
