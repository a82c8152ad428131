import type { IPFamily } from '../model/ip.js';

interface FamilyHealth {
  lastUpdated: number;
  /** When the oldest still-unapplied update was queued; 0 when nothing is pending. */
  oldestPendingQueued: number;
}

export interface FamilyHealthStatus {
  readonly healthy: boolean;
  readonly lastUpdated: number;
}

export interface HealthStatus {
  readonly healthy: boolean;
  /** The most recent update over all families (0: never). */
  readonly lastUpdated: number;
  readonly currentTime: number;
  /** Per family that has reported at least once (upstream's `status` map). */
  readonly families: ReadonlyMap<IPFamily, FamilyHealthStatus>;
}

/**
 * Upstream's ProxyHealthServer state: a family is healthy when nothing is pending, or the oldest
 * pending update is younger than healthTimeout (2 x syncPeriod). Queued/Updated are called by
 * the sync loop; /healthz also requires the node to be eligible.
 */
export class ProxyHealth {
  private readonly families = new Map<IPFamily, FamilyHealth>();

  constructor(
    private readonly healthTimeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** An update was queued (a change arrived); only the oldest pending one counts. */
  queued(family: IPFamily): void {
    const f = this.family(family);
    if (f.oldestPendingQueued === 0) f.oldestPendingQueued = this.now();
  }

  /** Rules were applied: clears pending and records the time. */
  updated(family: IPFamily): void {
    const f = this.family(family);
    f.lastUpdated = this.now();
    f.oldestPendingQueued = 0;
  }

  status(): HealthStatus {
    const now = this.now();
    let healthy = true;
    let lastUpdated = 0;
    const families = new Map<IPFamily, FamilyHealthStatus>();
    for (const [family, f] of this.families) {
      lastUpdated = Math.max(lastUpdated, f.lastUpdated);
      const late = f.oldestPendingQueued !== 0 && now - f.oldestPendingQueued >= this.healthTimeoutMs;
      if (late) healthy = false;
      families.set(family, { healthy: !late, lastUpdated: f.lastUpdated });
    }
    return { healthy, lastUpdated, currentTime: now, families };
  }

  private family(family: IPFamily): FamilyHealth {
    let f = this.families.get(family);
    if (!f) this.families.set(family, (f = { lastUpdated: 0, oldestPendingQueued: 0 }));
    return f;
  }
}
