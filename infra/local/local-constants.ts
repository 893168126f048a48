/** Names and credentials of the local stack's embedded S3, shared by the stack and the scripts. */
export const LOCAL_SOURCE_BUCKET = 'recto-sources';
export const LOCAL_DERIVATIVE_BUCKET = 'recto-derivatives';
/** s3rver only checks that a signed request names the access key S3RVER (never the secret or signature). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
export const LOCAL_REGION = 'us-east-1';
