import type { StatusCause } from './status.js';
import type { KubeObject } from './types.js';

/**
 * Per-resource rules applied on writes, like the registry strategies of the real API server:
 * defaulting, allocation and validation. Validation returns field causes; the store turns them
 * into a 422 Invalid.
 */
export interface ResourceStrategy {
  /** Fills defaults and allocations into `object` (mutated); `existing` are the other stored objects of the type. */
  prepareForCreate(object: KubeObject, existing: readonly KubeObject[]): void;
  /** Carries over what the server owns (allocations, immutable fields) from `previous`; mutates `next`. */
  prepareForUpdate(next: KubeObject, previous: KubeObject, existing: readonly KubeObject[]): void;
  validate(object: KubeObject, previous: KubeObject | undefined): StatusCause[];
}

export const PASSTHROUGH_STRATEGY: ResourceStrategy = {
  prepareForCreate: () => undefined,
  prepareForUpdate: () => undefined,
  validate: () => [],
};
