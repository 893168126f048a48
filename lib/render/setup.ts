/**
 * Process-wide sharp settings for a Lambda-like process: one request at a time, memory billed,
 * a few cores. Called once at cold start (and, being idempotent, by render() as a safety net).
 */
import { availableParallelism } from 'node:os';
import sharp from 'sharp';

let configured = false;

/**
 * Turn libvips' operation cache off and give each pipeline every core.
 *
 * - Cache off: the cache keeps recent operations and their pixel buffers (up to 50 MB and 20
 *   open files by default) in case the same work comes again. Requests here rarely repeat the
 *   same operation on the same pixels, and a Lambda's memory is its bill and its limit, so the
 *   cache only raises the peak. Sources are reopened per request; that costs well under 1 ms.
 * - Concurrency = cores: sharp defaults to one libvips thread per pipeline on glibc (to limit
 *   allocator fragmentation under many parallel requests). A Lambda serves one request at a
 *   time, so the threads would otherwise sit idle: with 2 threads a 75 MP `full/max` JPEG is
 *   about twice as fast (see bench/). Lambda gives one vCPU per 1769 MB of memory.
 */
export function configureSharp(): void {
  if (configured) return;
  sharp.cache(false);
  sharp.concurrency(Math.max(1, availableParallelism()));
  configured = true;
}
