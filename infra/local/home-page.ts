/** The local stack's page at `/`: the sources it serves, with links to try. */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { encodeIdentifier } from '../../lib/iiif/index.js';
import type { Services } from '../../lib/service/services.js';

export async function listSourceIdentifiers(services: Services, limit = 500): Promise<string[]> {
  const { config, s3 } = services;
  const [before = '', after = ''] = config.sourceKeyTemplate.split('{id}');
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: config.sourceBucket, Prefix: before, MaxKeys: limit }));
  return (listed.Contents ?? [])
    .map((object) => object.Key ?? '')
    .filter((key) => key.startsWith(before) && key.endsWith(after) && key.length > before.length + after.length)
    .map((key) => key.slice(before.length, key.length - after.length))
    .sort();
}

export async function renderHomePage(services: Services, baseUrl: string): Promise<string> {
  const identifiers = await listSourceIdentifiers(services);
  const rows = identifiers
    .map((identifier) => {
      const id = encodeIdentifier(identifier);
      const base = `${baseUrl}/iiif/3/${id}`;
      return `<li><strong>${escapeHtml(identifier)}</strong>: <a href="${base}/info.json">info.json (3.0)</a> · <a href="${baseUrl}/iiif/2/${id}/info.json">info.json (2.1)</a> · <a href="${base}/full/!400,400/0/default.jpg">thumbnail</a> · <a href="${base}/full/max/0/default.jpg">full</a></li>`;
    })
    .join('\n');
  const auth = services.config.auth.enabled
    ? '<p>Auth is on: send <code>Authorization: Bearer $(npm run -s token)</code> with each request (or start with <code>IIIF_AUTH=off npm start</code>).</p>'
    : '<p>Auth is off (IIIF_AUTH=off).</p>';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Recto (local)</title></head>
<body><h1>Recto: local stack</h1>${auth}<ul>${rows}</ul></body></html>`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
