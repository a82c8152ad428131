import type { StatusCause } from './status.js';
import type { ResourceStrategy } from './strategy.js';
import type { KubeObject } from './types.js';

/** EndpointSlice rules of the real server that tests could trip over: addressType, addresses, port protocol. */

interface EndpointSliceShape {
  addressType?: string;
  endpoints?: Array<{ addresses?: string[] }>;
  ports?: Array<{ protocol?: string; port?: number }>;
}

const ADDRESS_TYPES = new Set(['IPv4', 'IPv6', 'FQDN']);

function defaultPortProtocols(object: KubeObject): void {
  for (const port of (object as EndpointSliceShape).ports ?? []) port.protocol ??= 'TCP';
}

function validate(object: KubeObject, previous: KubeObject | undefined): StatusCause[] {
  const slice = object as EndpointSliceShape;
  const causes: StatusCause[] = [];
  if (!ADDRESS_TYPES.has(slice.addressType ?? '')) {
    causes.push({ field: 'addressType', reason: 'FieldValueNotSupported', message: `Unsupported value: "${String(slice.addressType)}"` });
  }
  if (previous && (previous as EndpointSliceShape).addressType !== slice.addressType) {
    causes.push({ field: 'addressType', message: 'field is immutable' });
  }
  (slice.endpoints ?? []).forEach((ep, i) => {
    const count = ep.addresses?.length ?? 0;
    if (count < 1 || count > 100) causes.push({ field: `endpoints[${i}].addresses`, message: `Invalid value: ${count}: must have at least 1 and at most 100 addresses` });
  });
  return causes;
}

export const ENDPOINT_SLICE_STRATEGY: ResourceStrategy = {
  prepareForCreate: (object) => defaultPortProtocols(object),
  prepareForUpdate: (next) => defaultPortProtocols(next),
  validate,
};
