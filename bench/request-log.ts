/**
 * The local stack's request log, read from its stdout: one JSON line per request (message
 * "request") with what the request read from storage (`sourceBytes`) and where its time went.
 * Sections that drive `npm start` over HTTP pair each request with its line.
 */
import type { ChildProcess } from 'node:child_process';

/** How long a request's log line may take to show on the stack's stdout. */
const LOG_LINE_TIMEOUT_MS = 5_000;

export interface RequestLine {
  readonly path: string;
  readonly status: number;
  /** Bytes read from the master, or from its access copy. */
  readonly sourceBytes: number;
  readonly totalMs: number;
  readonly renderMs?: number;
  readonly uploadMs?: number;
}

export interface RequestLog {
  /**
   * The first line logged for `path` not taken yet (waiting for it a little: it follows the
   * answer), taken: a path asked for again gets its own line.
   */
  wait(path: string): Promise<RequestLine>;
}

function parseLine(line: string): RequestLine | undefined {
  if (!line.startsWith('{')) return undefined;
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (entry.message !== 'request' || typeof entry.path !== 'string' || typeof entry.sourceBytes !== 'number') return undefined;
  return {
    path: entry.path,
    status: Number(entry.status),
    sourceBytes: entry.sourceBytes,
    totalMs: Number(entry.totalMs),
    ...(typeof entry.renderMs === 'number' ? { renderMs: entry.renderMs } : {}),
    ...(typeof entry.uploadMs === 'number' ? { uploadMs: entry.uploadMs } : {}),
  };
}

/** The stack's request log lines (JSON on stdout, message "request"), as they arrive. */
export function requestLog(child: ChildProcess): RequestLog {
  const lines: RequestLine[] = [];
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    partial += chunk.toString();
    const complete = partial.split('\n');
    partial = complete.pop() ?? '';
    for (const line of complete) {
      const parsed = parseLine(line);
      if (parsed !== undefined) lines.push(parsed);
    }
  });
  return {
    async wait(path) {
      const until = Date.now() + LOG_LINE_TIMEOUT_MS;
      for (;;) {
        const index = lines.findIndex((line) => line.path === path);
        const found = lines[index];
        if (found !== undefined) {
          lines.splice(index, 1);
          return found;
        }
        if (Date.now() > until) throw new Error(`no request log line for ${path} on the local stack's stdout within ${LOG_LINE_TIMEOUT_MS} ms`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
  };
}
