/** The network-namespace lab: see README.md in this folder. */
export { Lab } from './lab.js';
export type { ExecOptions, HttpOptions, PodInfo, PodSpec, ProbeOptions, SpawnOptions, WaitOptions } from './lab.js';
export { LabProcess, type ProcessExit } from './lab-process.js';
export { gcStaleLabs, type GcResult } from './gc.js';
export { countByPod, describeResults, summarize, type ResultSummary } from './results.js';
export { CommandError, type RunResult } from './run.js';
export { DEFAULTS as LAB_DEFAULTS } from './topology.js';
export type { LabClientOptions, LabOptions, LabTimeouts, LabTopology, NodeTopology, ClientTopology } from './topology.js';
export type { HttpResult, UdpResult, ProbeResult, ProbeError, ProbeFailure, HttpAnswer, ProbeAnswer } from './agent-protocol.js';
export type { IpFamily, PerFamily } from './addresses.js';
export { LabCluster, type ClusterOptions, type PortSpec, type EndpointOverride } from './cluster.js';
