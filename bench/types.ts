/** The shapes the harness measures, passes between processes and writes to JSON. */
import type { WorkloadSize } from './workload.js';

/** A mode with one applier: the unit measured in a child process of its own. */
export type BenchMode = 'iptables' | 'iptables-phased' | 'nftables-netlink' | 'nftables-nft' | 'ipvs';
export const BENCH_MODES: readonly BenchMode[] = ['nftables-netlink', 'nftables-nft', 'iptables', 'iptables-phased', 'ipvs'];

export const MODE_LABELS: Record<BenchMode, string> = {
  'nftables-netlink': 'nftables, netlink applier',
  'nftables-nft': 'nftables, nft applier',
  iptables: 'iptables, one restore (upstream)',
  'iptables-phased': 'iptables, phased restores',
  ipvs: 'ipvs',
};

export interface StepTiming {
  readonly generateMs: number;
  readonly applyMs: number;
  /** Wall time around Proxier.sync (generation, apply, and whatever else the proxier does). */
  readonly totalMs: number;
}

export type StepName = 'full' | 'noop' | 'oneEndpoint' | 'addService' | 'churn' | 'resync';
export const STEP_NAMES: readonly StepName[] = ['full', 'noop', 'oneEndpoint', 'addService', 'churn', 'resync'];
export const STEP_LABELS: Record<StepName, string> = {
  full: 'first full sync',
  noop: 'no-op sync',
  oneEndpoint: 'one endpoint changed (median)',
  addService: 'one service added',
  churn: '1% churn',
  resync: 'forced full resync',
};

export interface LatencyResult {
  readonly samples: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface MemoryResult {
  /** getrusage maxRSS of the worker process (child processes such as nft not included). */
  readonly peakRssMiB: number;
  /** Largest heapUsed seen (sampled every 50 ms and after each step). */
  readonly peakHeapUsedMiB: number;
}

/** What the kernel holds after the run, counted from the namespace. */
export type KernelCounts = Readonly<Record<string, number>>;

export type RunStatus = 'ok' | 'timeout' | 'failed' | 'skipped';

export interface ModeRun {
  readonly mode: BenchMode;
  readonly size: WorkloadSize;
  readonly status: RunStatus;
  readonly note?: string;
  /** Objects -> snapshot through the tracker (same for every mode). */
  readonly modelMs?: number;
  readonly steps: Partial<Record<StepName, StepTiming>>;
  readonly latency?: LatencyResult;
  readonly memory?: MemoryResult;
  readonly kernel?: KernelCounts;
}

/** The same nftables ruleset through the upstream text paths, our batch, and the floor. */
export interface NftBaseline {
  readonly size: WorkloadSize;
  readonly status: RunStatus;
  readonly note?: string;
  readonly runs?: number;
  readonly commands?: number;
  readonly batchBytes?: number;
  readonly nativeMs?: number;
  readonly prepareMs?: number;
  readonly sendMs?: number;
  readonly nftJsonMs?: number;
  readonly nftTextMs?: number;
  readonly floorMs?: number;
  /** A one-rule transaction into that kube-proxy table: what the smallest change costs the kernel at this size. */
  readonly tinyTransactionMs?: number;
  readonly sameState?: boolean;
}

export interface BenchEnvironment {
  readonly date: string;
  readonly host: string;
  readonly kernel: string;
  readonly cpus: number;
  readonly node: string;
  readonly iptablesBackend: string;
  readonly nftVersion: string;
  readonly ipvs: boolean;
  readonly inVm: boolean;
}

export interface BenchReport {
  readonly schema: 1;
  readonly command: string;
  readonly environment: BenchEnvironment;
  readonly options: { readonly sizes: readonly WorkloadSize[]; readonly modes: readonly BenchMode[]; readonly repeats: number; readonly latencySamples: number };
  readonly runs: readonly ModeRun[];
  readonly nftBaselines: readonly NftBaseline[];
  /** Lines explaining what was not measured and why. */
  readonly notes: readonly string[];
}
