import { matchesFields, type FieldSelector } from './field-selector.js';
import { matchesLabels, type LabelSelector } from './label-selector.js';
import type { KubeObject } from './types.js';

/** What a list or watch request selects: the path's namespace (if any) and its selectors. */
export interface ObjectFilter {
  namespace: string | undefined;
  labelSelector: LabelSelector;
  fieldSelector: FieldSelector;
  /** Set for the legacy `.../{name}?watch=true` form: a watch on one object. */
  name?: string;
}

export function matchesFilter(filter: ObjectFilter, object: KubeObject): boolean {
  if (filter.namespace !== undefined && object.metadata.namespace !== filter.namespace) return false;
  if (filter.name !== undefined && object.metadata.name !== filter.name) return false;
  return matchesLabels(filter.labelSelector, object.metadata.labels) && matchesFields(filter.fieldSelector, object);
}

export function hasSelectors(filter: ObjectFilter): boolean {
  return filter.labelSelector.length > 0 || filter.fieldSelector.length > 0;
}
