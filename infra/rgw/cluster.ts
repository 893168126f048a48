/**
 * A throwaway one-node Ceph cluster with the RADOS Gateway (RGW), the S3 server of Ceph, on
 * loopback: a monitor, one OSD keeping its objects in memory (memstore) and radosgw with the
 * beast frontend, all run as the current user with every file in one temp folder. It is a real,
 * signature-checking S3 for `npm run test:rgw`; stop() kills the daemons and deletes the folder.
 *
 * Measured with Ceph 16.2.15 (Debian bookworm): up in 2-3.5 s, about 120 MB RSS for the three
 * daemons. Start-up is bounded by the monitor's paxos rounds, hence `paxos propose interval`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { openSync, closeSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { ensureDebianPackages, missingCommands, runCommand } from '../debian.js';
import { join } from 'node:path';

/** The Debian packages that bring the daemons and the tools below. */
export const CEPH_PACKAGES = ['radosgw', 'ceph-mon', 'ceph-osd'] as const;
const CEPH_COMMANDS = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'ceph-authtool', 'monmaptool', 'ceph'] as const;
/** RGW accepts any region name for signatures; the SDK needs one. */
export const RGW_REGION = 'us-east-1';
const START_TIMEOUT_MS = 60_000;

type Log = (line: string) => void;

/** The Ceph commands that are not installed. */
export function missingCephCommands(): Promise<string[]> {
  return missingCommands(CEPH_COMMANDS);
}

/** Install radosgw and the monitor and OSD daemons with apt-get when any command is missing. */
export function ensureCephInstalled(log: Log): Promise<void> {
  return ensureDebianPackages(CEPH_PACKAGES, CEPH_COMMANDS, log);
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** A free TCP port on 127.0.0.1 (free now: the daemon binds it a moment later). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface RgwCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

interface Daemon {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  readonly outFile: string;
  exit?: string;
}

/**
 * One cluster. Create it, hook stop() to whatever may end the process, then start(): stop()
 * may be called at any time, also in the middle of start(), which then fails.
 */
export class RgwCluster {
  readonly #daemons: Daemon[] = [];
  readonly #helpers = new Set<ChildProcess>();
  #directory: string | undefined;
  #stopping: Promise<void> | undefined;
  #endpoint: URL | undefined;
  #credentials: RgwCredentials | undefined;
  #version = '';
  #startupMs = 0;
  readonly #steps: { step: string; atMs: number }[] = [];

  get endpoint(): URL {
    if (this.#endpoint === undefined) throw new Error('The RGW cluster is not started: await start() first');
    return this.#endpoint;
  }

  get credentials(): RgwCredentials {
    if (this.#credentials === undefined) throw new Error('The RGW cluster is not started: await start() first');
    return this.#credentials;
  }

  /** "16.2.15", from `ceph-mon --version`. */
  get version(): string {
    return this.#version;
  }

  get startupMs(): number {
    return this.#startupMs;
  }

  /** When each step of start() ended, in ms from its beginning: where a slow start-up went. */
  get steps(): readonly { step: string; atMs: number }[] {
    return this.#steps;
  }

  get directory(): string | undefined {
    return this.#directory;
  }

  async start(): Promise<void> {
    const started = performance.now();
    const versionText = await runCommand('ceph-mon', ['--version'], { what: 'ceph-mon --version' });
    this.#version = /ceph version (\S+)/.exec(versionText)?.[1] ?? versionText.trim();
    const dir = await mkdtemp(join(tmpdir(), 'recto-rgw-'));
    this.#directory = dir;
    this.#checkStopping();
    await Promise.all(['mon', 'osd/osd.0', 'run', 'log', 'rgw'].map((sub) => mkdir(join(dir, sub), { recursive: true })));
    const [monPort, rgwPort] = [await freePort(), await freePort()];
    const fsid = randomUUID();
    const conf = join(dir, 'ceph.conf');
    await writeFile(conf, cephConf(dir, fsid, monPort, rgwPort));

    // cephx with keys made here: every entity the cluster needs is in the monitor's first
    // keyring, so no `ceph auth add` round trip is needed later.
    const entities: [string, string[]][] = [
      ['mon.', ['mon', 'allow *']],
      ['client.admin', ['mon', 'allow *', 'osd', 'allow *', 'mgr', 'allow *']],
      ['osd.0', ['mon', 'allow profile osd', 'osd', 'allow *']],
      ['client.rgw', ['mon', 'allow rw', 'osd', 'allow rwx']],
    ];
    const keyrings = await Promise.all(
      entities.map(async ([name, caps], index) => {
        const file = join(dir, `keyring.${index}`);
        const capArgs = [];
        for (let i = 0; i + 1 < caps.length; i += 2) capArgs.push('--cap', caps[i] ?? '', caps[i + 1] ?? '');
        await this.#run('ceph-authtool', ['--create-keyring', file, '--gen-key', '-n', name, ...capArgs]);
        return readFile(file, 'utf8');
      }),
    );
    await writeFile(join(dir, 'keyring'), keyrings.join(''));
    this.#mark('keys', started);
    await this.#run('monmaptool', ['--create', '--fsid', fsid, '--addv', 'a', `[v2:127.0.0.1:${monPort}]`, join(dir, 'monmap')]);
    const osdUuid = randomUUID();
    await Promise.all([
      this.#run('ceph-mon', ['-c', conf, '--mkfs', '-i', 'a', '--monmap', join(dir, 'monmap')]),
      // The OSD's store is made without the monitor, so both are done at once.
      this.#run('ceph-osd', ['-c', conf, '-i', '0', '--mkfs', '--osd-uuid', osdUuid, '--no-mon-config']),
    ]);
    this.#mark('mkfs', started);
    this.#spawn('mon.a', 'ceph-mon', ['-c', conf, '-f', '-i', 'a']);
    // Registers osd.0 in the OSD map (the CLI waits for the monitor's quorum).
    await this.#run('ceph', ['-c', conf, '--connect-timeout', '30', 'osd', 'new', osdUuid, '0']);
    this.#mark('osd new', started);
    this.#spawn('osd.0', 'ceph-osd', ['-c', conf, '-f', '-i', '0']);
    this.#spawn('client.rgw', 'radosgw', ['-c', conf, '-f', '-n', 'client.rgw']);
    this.#endpoint = new URL(`http://127.0.0.1:${rgwPort}`);
    await this.#waitForGateway(started);
    this.#mark('rgw answers', started);

    const credentials = {
      accessKeyId: `RECTO${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64url'),
    };
    await this.#run('radosgw-admin', [
      '-c', conf, '-n', 'client.admin', 'user', 'create', '--uid=recto-tests', '--display-name=Recto tests',
      `--access-key=${credentials.accessKeyId}`, `--secret-key=${credentials.secretAccessKey}`,
    ]);
    this.#credentials = credentials;
    this.#mark('user', started);
    this.#startupMs = performance.now() - started;
  }

  #mark(step: string, started: number): void {
    this.#steps.push({ step, atMs: performance.now() - started });
  }

  /** Peak and current resident memory of each daemon, in bytes (Linux /proc). */
  async memory(): Promise<{ name: string; rssBytes: number; peakBytes: number }[]> {
    return Promise.all(
      this.#daemons
        .filter((daemon) => daemon.exit === undefined && daemon.child.pid !== undefined)
        .map(async (daemon) => {
          const status = await readFile(`/proc/${String(daemon.child.pid)}/status`, 'utf8').catch(() => '');
          const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
          return { name: daemon.name, rssBytes: kb('VmRSS'), peakBytes: kb('VmHWM') };
        }),
    );
  }

  /** A daemon that has died since start(), with the tail of its log; undefined while all run. */
  async deadDaemonReport(): Promise<string | undefined> {
    const dead = this.#daemons.find((daemon) => daemon.exit !== undefined);
    return dead === undefined ? undefined : this.#report(dead);
  }

  /** Kill the daemons (their data is in memory: nothing to flush) and delete the folder. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const children = [...this.#helpers, ...this.#daemons.filter((daemon) => daemon.exit === undefined).map((daemon) => daemon.child)];
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) {
                resolve();
                return;
              }
              const timer = setTimeout(resolve, 5_000);
              child.once('exit', () => {
                clearTimeout(timer);
                resolve();
              });
              child.kill('SIGKILL');
            }),
        ),
      );
      if (this.#directory !== undefined) await rm(this.#directory, { recursive: true, force: true });
    })();
    return this.#stopping;
  }

  #checkStopping(): void {
    if (this.#stopping !== undefined) throw new Error('The RGW cluster was stopped while it was starting');
  }

  async #run(command: string, args: readonly string[]): Promise<string> {
    this.#checkStopping();
    const out = await runCommand(command, args, {
      what: command,
      track: (child) => {
        this.#helpers.add(child);
        child.once('exit', () => this.#helpers.delete(child));
      },
    });
    this.#checkStopping();
    return out;
  }

  #spawn(name: string, command: string, args: readonly string[]): void {
    this.#checkStopping();
    const dir = this.#directory ?? '';
    const outFile = join(dir, 'log', `${name}.out`);
    // A file, not a pipe: a daemon that fills a pipe nobody reads would block.
    const out = openSync(outFile, 'a');
    const child = spawn(command, args, { stdio: ['ignore', out, out] });
    closeSync(out);
    const daemon: Daemon = { name, child, logFile: join(dir, 'log', `${name}.log`), outFile };
    child.once('exit', (code, signal) => {
      daemon.exit = signal === null ? `exit code ${String(code)}` : `signal ${signal}`;
    });
    child.once('error', (error) => {
      daemon.exit = error.message;
      void appendFile(outFile, `${error.message}\n`).catch(() => undefined);
    });
    this.#daemons.push(daemon);
  }

  /** Until radosgw answers an anonymous ListBuckets, or a daemon dies, or the time is up. */
  async #waitForGateway(started: number): Promise<void> {
    const endpoint = this.endpoint;
    for (;;) {
      this.#checkStopping();
      const dead = this.#daemons.find((daemon) => daemon.exit !== undefined);
      if (dead !== undefined) throw new Error(await this.#report(dead));
      const status = await fetch(endpoint, { signal: AbortSignal.timeout(1_000) }).then(
        (response) => response.status,
        () => 0,
      );
      if (status === 200) return;
      if (performance.now() - started > START_TIMEOUT_MS) {
        const logs = await Promise.all(this.#daemons.map((daemon) => this.#report(daemon)));
        throw new Error(`radosgw did not answer at ${endpoint.href} within ${START_TIMEOUT_MS / 1000} s (last status ${status}).\n${logs.join('\n')}`);
      }
      await sleep(50);
    }
  }

  async #report(daemon: Daemon): Promise<string> {
    const log = await readFile(daemon.logFile, 'utf8').catch(() => '');
    const out = await readFile(daemon.outFile, 'utf8').catch(() => '');
    const state = daemon.exit === undefined ? 'is running' : `stopped (${daemon.exit})`;
    return [
      `Ceph daemon ${daemon.name} ${state}. Last lines of ${daemon.logFile}:`,
      tail(log, 25) || '(empty)',
      ...(out.trim() === '' ? [] : [`Its output:`, tail(out, 15)]),
    ].join('\n');
  }
}

function cephConf(dir: string, fsid: string, monPort: number, rgwPort: number): string {
  return `[global]
fsid = ${fsid}
mon host = v2:127.0.0.1:${monPort}
run dir = ${dir}/run
admin socket = ${dir}/run/$name.asok
log file = ${dir}/log/$name.log
pid file = ${dir}/run/$name.pid
keyring = ${dir}/keyring
mon data = ${dir}/mon/$name
osd data = ${dir}/osd/$name
ms bind ipv6 = false
# One OSD in memory: one copy of everything, placement by OSD, few placement groups.
osd objectstore = memstore
memstore device bytes = 4294967296
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
# The monitor would stop when the disk of the temp folder is nearly full; nothing is kept there.
mon data avail crit = 0
mon data avail warn = 0
# Start-up waits on paxos rounds: 12.5 s with the default 1 s interval, 2.5 s with this.
paxos propose interval = 0.1
[client.rgw]
# Without tcp_nodelay a small GET takes 48 ms (Nagle and delayed ACKs) instead of 3.5 ms.
rgw frontends = beast endpoint=127.0.0.1:${rgwPort} tcp_nodelay=1
rgw data = ${dir}/rgw
`;
}
