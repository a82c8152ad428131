import type { KubernetesObject } from '@kubernetes/client-node';
import type { Node } from '../../model/k8s.js';
import type { ObjectSink } from '../sink.js';
import type { ObjectHandler } from './informer-supervisor.js';

/**
 * The own-Node handler: labels (zone → topology), addresses and eligibility go to the sink. A
 * deleted Node is passed on as one being deleted, so /healthz reports the node as not eligible
 * (the sink has no "delete node": the last known addresses stay in use, as upstream keeps its
 * node IPs for the life of the process).
 */
export function ownNodeHandler(sink: ObjectSink, onSeen: () => void): ObjectHandler<KubernetesObject> {
  return {
    upsert: (obj) => {
      sink.upsertNode(obj as Node);
      onSeen();
    },
    remove: (obj) => {
      const node = obj as Node;
      const deletionTimestamp = node.metadata?.deletionTimestamp ?? new Date().toISOString();
      sink.upsertNode({ ...node, metadata: { ...node.metadata, deletionTimestamp } });
    },
  };
}
