/**
 * Purge: the function (an S3 event on the source bucket) and `npm run purge` delete an
 * identifier's derivatives and source record, page by page, and the process forgets the record
 * it held, so a replaced source is served as it is now.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../infra/cli/purge.js';
import { createPurgeHandler, sourceChanges } from '../../lib/entry/purge.js';
import { DerivativeStore } from '../../lib/store/index.js';
import { gridImage } from '../support/fixtures.js';
import { GRID_ID, startTestStack, type TestStack } from '../support/stack.js';
import { Capture, cliEnvironment } from '../support/prewarm-cli.js';

function s3Event(eventName: string, key: string, bucket = 'recto-sources'): unknown {
  return {
    Records: [{ eventVersion: '2.1', eventSource: 'aws:s3', awsRegion: 'us-east-1', eventTime: '2026-11-25T09:00:00.000Z', eventName, s3: { s3SchemaVersion: '1.0', bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` }, object: { key, size: 1, eTag: 'x' } } }],
  };
}

describe('purging', () => {
  let t: TestStack;
  let token: string;

  beforeAll(async () => {
    const small = (await gridImage({ width: 300, height: 200, cols: 3, rows: 2 })).png;
    t = await startTestStack({ sources: { 'with space.png': small, 'other.png': small, 'kept.png': small } });
    token = await t.token();
  }, 60_000);

  afterAll(async () => {
    await t.close();
  });

  /** The identifier's derivatives and its source record (kept under the internal root). */
  async function keysOf(identifier: string): Promise<string[]> {
    const prefixes = [`${encodeURIComponent(identifier)}/`, `!recto/records/${encodeURIComponent(identifier)}/`];
    return (await t.listDerivatives()).map((object) => object.key).filter((key) => prefixes.some((prefix) => key.startsWith(prefix)));
  }

  async function warm(identifier: string): Promise<void> {
    for (const path of ['full/max/0/default.jpg', 'full/100,/0/default.png', '0,0,100,100/50,50/0/gray.webp']) {
      expect((await t.send(`/iiif/3/${encodeURIComponent(identifier)}/${path}`, { token })).status).toBe(302);
    }
  }

  it('on an ObjectCreated event, deletes the derivatives and record (paginated) and forgets the record in memory', async () => {
    // Prepare: derivatives and a record, a store listing two keys a page, then the source replaced.
    await warm(GRID_ID);
    expect(await keysOf(GRID_ID)).toHaveLength(4);
    const services = t.stack.services;
    const derivatives = new DerivativeStore(services.s3, { bucket: t.derivativeBucket, presignTtlSeconds: 3600, pageSize: 2 });
    const handler = createPurgeHandler(() => ({ derivatives, prefix: '', records: services.records, sourceBucket: t.sourceBucket, keyTemplate: '{id}' }));
    await t.putSource('grid.png', (await gridImage({ width: 640, height: 480 })).png, 'image/png');

    // Act
    const answer = await handler(s3Event('ObjectCreated:Put', 'grid'));

    // Assess: all gone, and info.json tells the new size at once (not the remembered record).
    expect(answer).toEqual({ purged: [{ key: 'grid', identifier: GRID_ID, deleted: 4 }] });
    expect(await keysOf(GRID_ID)).toEqual([]);
    const info = (await t.send(`/iiif/3/${GRID_ID}/info.json`, { token })).json() as { width: number; height: number };
    expect({ width: info.width, height: info.height }).toEqual({ width: 640, height: 480 });
  });

  it('decodes the event key (+ for a space) and leaves other identifiers alone', async () => {
    // Prepare
    await warm('with space');
    await warm('kept');
    const services = t.stack.services;
    const handler = createPurgeHandler(() => ({ derivatives: services.derivatives, prefix: '', records: services.records, sourceBucket: t.sourceBucket, keyTemplate: '{id}' }));

    // Act
    const answer = await handler(s3Event('ObjectRemoved:Delete', 'with+space'));

    // Assess
    expect(answer).toEqual({ purged: [{ key: 'with space', identifier: 'with space', deleted: 4 }] });
    expect(await keysOf('with space')).toEqual([]);
    expect(await keysOf('kept')).toHaveLength(4);
  });

  it('ignores keys the template does not make, other buckets and test events', async () => {
    // Prepare
    const services = t.stack.services;
    const handler = createPurgeHandler(() => ({ derivatives: services.derivatives, prefix: '', sourceBucket: t.sourceBucket, keyTemplate: 'masters/{id}.tif' }));

    // Act
    const notASource = await handler(s3Event('ObjectCreated:Put', 'notes/readme.txt'));
    const otherBucket = await handler(s3Event('ObjectCreated:Put', 'masters/kept.tif', 'elsewhere'));
    const test = await handler({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: '2026-11-25T09:00:00.000Z', Bucket: 'recto-sources' });

    // Assess
    expect([notASource, otherBucket, test]).toEqual([{ purged: [{ key: 'notes/readme.txt', deleted: 0 }] }, { purged: [{ key: 'masters/kept.tif', deleted: 0 }] }, { purged: [] }]);
    expect(await keysOf('kept')).toHaveLength(4);
  });

  it('refuses an event that is not an S3 notification', () => {
    expect(() => sourceChanges({ Records: [{ eventSource: 'aws:sqs', body: '{}' }] })).toThrow(/^Expected eventName, s3\.bucket\.name and s3\.object\.key for Records\[0\] but received/);
  });

  describe('npm run purge', () => {
    it('with --dry-run lists what would go and deletes nothing', async () => {
      // Prepare
      await warm('other');
      const stdout = new Capture();

      // Act
      const code = await main(['--dry-run', 'other'], cliEnvironment(t), { stdout, stderr: new Capture() });

      // Assess
      expect(code).toBe(0);
      expect(stdout.text).toContain('other: 4 object(s) would be deleted\nWould delete 4 object(s)\n');
      expect(stdout.text).toContain('!recto/records/other/source.json\n');
      expect(await keysOf('other')).toHaveLength(4);
    });

    it('deletes each identifier\'s derivatives and record', async () => {
      // Prepare
      const stdout = new Capture();

      // Act
      const code = await main(['other', 'kept'], cliEnvironment(t), { stdout, stderr: new Capture() });

      // Assess
      expect(code).toBe(0);
      expect(stdout.text).toBe('other: 4 object(s) deleted\nkept: 4 object(s) deleted\nDeleted 8 object(s)\n');
      expect(await keysOf('other')).toEqual([]);
      expect(await keysOf('kept')).toEqual([]);
    });

    it('without identifiers exits 2 with a pointer to --help', async () => {
      // Prepare
      const stderr = new Capture();

      // Act
      const code = await main([], cliEnvironment(t), { stdout: new Capture(), stderr });

      // Assess
      expect({ code, stderr: stderr.text }).toEqual({ code: 2, stderr: 'Give identifiers or --file PATH\nRun `npm run purge -- --help` for the options.\n' });
    });

    it.each([[[]], [['--dry-run']]])('calls an identifier with no source and nothing stored unknown and exits 1 (%j)', async (flags) => {
      // Prepare
      const [stdout, stderr] = [new Capture(), new Capture()];

      // Act
      const code = await main([...flags, 'nosuchimage'], cliEnvironment(t), { stdout, stderr });

      // Assess
      expect(code).toBe(1);
      expect(stderr.text).toBe('nosuchimage: unknown identifier: there is no source "nosuchimage" and nothing stored for it (identifiers are decoded: ms/0001, not ms%2F0001)\n');
      expect(stdout.text).toMatch(/ 0 object\(s\); 1 identifier\(s\) unknown\n$/);
    });

    it('purges a source that has nothing stored yet without calling it unknown', async () => {
      // Prepare: a source nobody has asked for.
      await t.putSource('fresh.png', (await gridImage({ width: 64, height: 64 })).png, 'image/png');
      const stdout = new Capture();

      // Act
      const code = await main(['fresh'], cliEnvironment(t), { stdout, stderr: new Capture() });

      // Assess
      expect([code, stdout.text]).toEqual([0, 'fresh: 0 object(s) deleted\nDeleted 0 object(s)\n']);
    });
  });
});
