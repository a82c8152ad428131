/**
 * Peak memory of this process: RSS from getrusage (the kernel's own maximum), heap sampled,
 * since V8 keeps no high-water mark. Sampling is ref'd on purpose: it keeps the event loop alive
 * while the harness waits on the sync runner, whose timers are unref'd.
 */
import type { MemoryResult } from './types.js';

const MiB = 1024 * 1024;
const round1 = (x: number): number => Math.round(x * 10) / 10;

export class MemorySampler {
  private peakHeap = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 50) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): void {
    this.peakHeap = Math.max(this.peakHeap, process.memoryUsage().heapUsed);
  }

  /** Stops sampling and returns the peaks so far. */
  stop(): MemoryResult {
    clearInterval(this.timer);
    this.sample();
    return { peakRssMiB: round1(process.resourceUsage().maxRSS / 1024), peakHeapUsedMiB: round1(this.peakHeap / MiB) };
  }
}
