/** The lab cluster for tap tests: torn down with the test, whatever happens. */
import { LabCluster, type ClusterOptions } from '../../../src/lab/cluster.js';

export type { PortSpec } from '../../../src/lab/cluster.js';

export interface TestLike {
  teardown(fn: () => unknown): void;
}

export type World = LabCluster;

export const World = {
  async create(t: TestLike, opts: ClusterOptions): Promise<World> {
    const cluster = await LabCluster.create(opts);
    t.teardown(() => cluster.destroy());
    return cluster;
  },
};
