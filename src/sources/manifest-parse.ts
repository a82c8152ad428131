import { parseAllDocuments } from 'yaml';
import type { EndpointSlice, KubeObject, Node, Service } from '../model/k8s.js';

export type ProxyObject =
  | { readonly kind: 'Service'; readonly object: Service }
  | { readonly kind: 'EndpointSlice'; readonly object: EndpointSlice }
  | { readonly kind: 'Node'; readonly object: Node };

export interface ParsedManifest {
  readonly objects: readonly ProxyObject[];
  /** Documents that could not be read (bad YAML, not an object); the others still count. */
  readonly errors: readonly string[];
}

function classify(doc: KubeObject): ProxyObject | undefined {
  const api = doc.apiVersion ?? '';
  if (doc.kind === 'Service' && api === 'v1') return { kind: 'Service', object: doc as Service };
  if (doc.kind === 'Node' && api === 'v1') return { kind: 'Node', object: doc as Node };
  if (doc.kind === 'EndpointSlice' && api === 'discovery.k8s.io/v1') return { kind: 'EndpointSlice', object: doc as EndpointSlice };
  return undefined;
}

/**
 * Reads one manifest file: JSON or multi-document YAML of ordinary Kubernetes objects, including
 * `kind: List`. Services, EndpointSlices and Nodes are kept; other kinds are ignored.
 */
export function parseManifest(text: string, source: string): ParsedManifest {
  const objects: ProxyObject[] = [];
  const errors: string[] = [];
  const visit = (value: unknown, where: string): void => {
    if (value === null || value === undefined) return;
    if (typeof value !== 'object' || Array.isArray(value)) {
      errors.push(`${where}: not a Kubernetes object`);
      return;
    }
    const obj = value as KubeObject & { items?: unknown };
    if (typeof obj.kind === 'string' && obj.kind.endsWith('List') && Array.isArray(obj.items)) {
      obj.items.forEach((item, i) => visit(item, `${where} item ${i}`));
      return;
    }
    const classified = classify(obj);
    if (classified) objects.push(classified);
  };
  let docs;
  try {
    docs = parseAllDocuments(text, { uniqueKeys: false });
  } catch (err) {
    return { objects, errors: [`${source}: ${String(err)}`] };
  }
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    if (doc.errors.length > 0) {
      errors.push(`${source} document ${i + 1}: ${doc.errors[0]!.message.split('\n')[0]}`);
      return;
    }
    visit(doc.toJS({ maxAliasCount: 100 }), `${source} document ${i + 1}`);
  });
  return { objects, errors };
}
