/**
 * Messages from a measuring child process to the harness: one JSON object per stdout line,
 * behind a marker so that stray output cannot be mistaken for a result.
 */
import type { NftBaselineResult } from './nft-baselines.js';
import type { KernelCounts, LatencyResult, MemoryResult, StepName, StepTiming } from './types.js';

export const MARKER = '@@bench ';

export type WorkerMessage =
  | { readonly type: 'progress'; readonly what: string }
  | { readonly type: 'model'; readonly ms: number }
  | { readonly type: 'step'; readonly name: StepName; readonly timing: StepTiming }
  | { readonly type: 'latency'; readonly result: LatencyResult }
  | { readonly type: 'memory'; readonly result: MemoryResult }
  | { readonly type: 'kernel'; readonly counts: KernelCounts }
  | { readonly type: 'baseline'; readonly result: NftBaselineResult }
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'done' };

export function encodeMessage(m: WorkerMessage): string {
  return `${MARKER}${JSON.stringify(m)}\n`;
}

/** The message on one line of output, or undefined for any other line. */
export function decodeMessage(line: string): WorkerMessage | undefined {
  if (!line.startsWith(MARKER)) return undefined;
  try {
    return JSON.parse(line.slice(MARKER.length)) as WorkerMessage;
  } catch {
    return undefined;
  }
}
