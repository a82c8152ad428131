import type { Logger } from '../../util/log.js';
import type { ObjectSink } from '../sink.js';

/**
 * Tells the sink that Services and EndpointSlices have been listed (upstream's
 * OnServiceSynced / OnEndpointSlicesSynced, which open the gate to the first sync), but only
 * once this node's Node object has been seen too, or `nodeWaitMs` has passed: upstream reads the
 * node's IPs before it builds its proxiers, and the first rules should not be written without
 * them. `ready` resolves when both lists have been passed on.
 */
export class ReadinessGate {
  private services = false;
  private endpointSlices = false;
  private nodeSettled = false;
  private servicesSent = false;
  private endpointSlicesSent = false;
  private timer: NodeJS.Timeout | undefined;
  private resolveReady!: () => void;
  readonly ready = new Promise<void>((resolve) => (this.resolveReady = resolve));

  constructor(
    private readonly sink: ObjectSink,
    private readonly nodeName: string,
    private readonly nodeWaitMs: number,
    private readonly log: Logger,
  ) {}

  /** Starts the clock for the node wait. */
  start(): void {
    if (this.nodeSettled || this.timer) return;
    this.timer = setTimeout(() => {
      if (this.nodeSettled) return;
      this.log.warn({ node: this.nodeName, waitedMs: this.nodeWaitMs }, 'Node object not found; programming rules without its addresses and labels until it appears');
      this.settleNode();
    }, this.nodeWaitMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  servicesListed(): void {
    this.services = true;
    this.release();
  }

  endpointSlicesListed(): void {
    this.endpointSlices = true;
    this.release();
  }

  nodeSeen(): void {
    this.settleNode();
  }

  private settleNode(): void {
    if (this.nodeSettled) return;
    this.nodeSettled = true;
    if (this.timer) clearTimeout(this.timer);
    this.release();
  }

  private release(): void {
    if (!this.nodeSettled) return;
    if (this.services && !this.servicesSent) {
      this.servicesSent = true;
      this.sink.servicesSynced();
    }
    if (this.endpointSlices && !this.endpointSlicesSent) {
      this.endpointSlicesSent = true;
      this.sink.endpointSlicesSynced();
    }
    if (this.servicesSent && this.endpointSlicesSent) this.resolveReady();
  }
}
