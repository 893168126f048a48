/**
 * `npm run test:rgw [-- vitest files or options]`: start a one-node Ceph cluster with the RADOS
 * Gateway (cluster.ts), run the suites that talk to S3 over HTTP against it instead of the
 * embedded S3, then stop the cluster and delete its folder, whatever happened. Installs Ceph with
 * apt-get when it is missing.
 *
 * The tests find the server in RECTO_TEST_S3_* (test/support/external-s3.ts); each test stack
 * and test S3 makes its own buckets there.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureCephInstalled, RGW_REGION, RgwCluster } from './cluster.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Every suite that talks to S3 over HTTP and does not look inside the embedded S3's files. */
export const RGW_SUITES = [
  'test/integration',
  'test/store/derivatives.test.ts',
  'test/store/sources.test.ts',
  'test/store/faults.test.ts',
  'test/store/s3-protocol.test.ts',
] as const;

const log = (line: string): void => {
  process.stdout.write(`[test:rgw] ${line}\n`);
};

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

async function printMemory(cluster: RgwCluster, when: string): Promise<void> {
  const memory = await cluster.memory();
  const total = memory.reduce((sum, daemon) => sum + daemon.rssBytes, 0);
  const peak = memory.reduce((sum, daemon) => sum + daemon.peakBytes, 0);
  log(`RSS ${when}: ${mb(total)} (peak ${mb(peak)}): ${memory.map((daemon) => `${daemon.name} ${mb(daemon.rssBytes)}`).join(', ')}`);
}

async function main(): Promise<number> {
  const cluster = new RgwCluster();
  let vitest: ChildProcess | undefined;
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled !== undefined) return;
    signalled = signal;
    log(`${signal}: stopping the tests and the cluster…`);
    vitest?.kill(signal);
    // The cluster is stopped in main's finally once vitest is gone; if vitest is not running
    // yet, start() fails on its next step because of this stop().
    if (vitest === undefined) void cluster.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await ensureCephInstalled(log);
    log('Starting a one-node Ceph cluster with radosgw on 127.0.0.1…');
    await cluster.start();
    log(`Ceph ${cluster.version} RGW up at ${cluster.endpoint.href} in ${(cluster.startupMs / 1000).toFixed(1)} s (folder ${cluster.directory ?? ''})`);
    log(`Start-up steps, ended at: ${cluster.steps.map(({ step, atMs }) => `${step} ${(atMs / 1000).toFixed(2)} s`).join(', ')}`);
    await printMemory(cluster, 'after start');

    const args = process.argv.slice(2);
    const suites = args.some((arg) => !arg.startsWith('-')) ? [] : [...RGW_SUITES];
    const started = performance.now();
    vitest = spawn(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...suites, ...args], {
      cwd: REPO_ROOT,
      stdio: 'inherit',
      env: {
        ...process.env,
        RECTO_TEST_S3_ENDPOINT: cluster.endpoint.href,
        RECTO_TEST_S3_ACCESS_KEY_ID: cluster.credentials.accessKeyId,
        RECTO_TEST_S3_SECRET_ACCESS_KEY: cluster.credentials.secretAccessKey,
        RECTO_TEST_S3_REGION: RGW_REGION,
        RECTO_TEST_S3_NAME: `Ceph RGW ${cluster.version}`,
      },
    });
    const child = vitest;
    const code = await new Promise<number>((resolve) => {
      child.once('exit', (exitCode, signal) => {
        resolve(exitCode ?? (signal === null ? 1 : 128));
      });
    });
    log(`Suites took ${((performance.now() - started) / 1000).toFixed(1)} s against Ceph ${cluster.version} RGW`);
    await printMemory(cluster, 'after the suites');
    if (signalled !== undefined) return signalled === 'SIGINT' ? 130 : 143;
    const dead = await cluster.deadDaemonReport();
    if (dead !== undefined) {
      log(`A daemon died during the suites, which explains failures above:\n${dead}`);
      return code === 0 ? 1 : code;
    }
    return code;
  } catch (error) {
    log(error instanceof Error ? error.message : String(error));
    return signalled === undefined ? 1 : signalled === 'SIGINT' ? 130 : 143;
  } finally {
    await cluster.stop();
    log('Cluster stopped and its folder deleted.');
  }
}

process.exitCode = await main();
