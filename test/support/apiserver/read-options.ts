import { decodeContinueToken, type ContinuePosition } from './continue-token.js';
import { parseFieldSelector, type FieldSelector } from './field-selector.js';
import { parseLabelSelector, type LabelSelector } from './label-selector.js';
import type { ResourceType } from './resources.js';
import { ApiError, badRequest, statusBody } from './status.js';

/**
 * Query parameters of list and watch requests, parsed and validated with the real server's rules
 * (`ValidateListOptions`): which resourceVersion/resourceVersionMatch/limit/continue combinations
 * are allowed and what each means.
 */

export type ReadConsistency =
  | { kind: 'mostRecent' }
  | { kind: 'any' }
  | { kind: 'notOlderThan'; resourceVersion: number }
  | { kind: 'exact'; resourceVersion: number }
  | { kind: 'continue'; position: ContinuePosition };

export interface ReadOptions {
  labelSelector: LabelSelector;
  fieldSelector: FieldSelector;
  limit: number | undefined;
  consistency: ReadConsistency;
  /** The raw `resourceVersion` parameter (watches start after it). */
  resourceVersion: string | undefined;
  watch: boolean;
  allowWatchBookmarks: boolean;
  sendInitialEvents: boolean | undefined;
  timeoutSeconds: number | undefined;
}

function invalidListOptions(field: string, message: string): ApiError {
  return new ApiError(
    statusBody(422, 'Invalid', `ListOptions.meta.k8s.io "" is invalid: ${field}: ${message}`, {
      group: 'meta.k8s.io',
      kind: 'ListOptions',
      causes: [{ reason: 'FieldValueForbidden', field, message }],
    }),
  );
}

function parseBoolean(value: string | null): boolean | undefined {
  if (value === null) return undefined;
  return value === 'true' || value === '1';
}

export function parseResourceVersion(text: string): number {
  if (!/^\d+$/.test(text)) throw badRequest(`invalid resource version: "${text}"`);
  return Number(text);
}

function parseNonNegativeInteger(name: string, text: string | null): number | undefined {
  if (text === null || text === '') return undefined;
  if (!/^-?\d+$/.test(text)) throw badRequest(`invalid ${name}: "${text}"`);
  return Number(text);
}

function consistencyFor(rv: string | undefined, match: string | undefined, limit: number | undefined, continueToken: string | undefined): ReadConsistency {
  if (match !== undefined && match !== 'Exact' && match !== 'NotOlderThan') {
    throw invalidListOptions('resourceVersionMatch', `Unsupported value: "${match}": supported values: "Exact", "NotOlderThan", ""`);
  }
  if (continueToken !== undefined) {
    if (rv !== undefined && rv !== '' && rv !== '0') throw badRequest('specifying resource version is not allowed when using continue');
    if (match !== undefined) throw invalidListOptions('resourceVersionMatch', 'Forbidden: resourceVersionMatch is forbidden when continue is provided');
    return { kind: 'continue', position: decodeContinueToken(continueToken) };
  }
  if (match !== undefined && (rv === undefined || rv === '')) {
    throw invalidListOptions('resourceVersionMatch', 'Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided');
  }
  if (rv === undefined || rv === '') return { kind: 'mostRecent' };
  if (rv === '0') {
    if (match === 'Exact') throw invalidListOptions('resourceVersionMatch', 'Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"');
    return { kind: 'any' };
  }
  const resourceVersion = parseResourceVersion(rv);
  if (match === 'Exact') return { kind: 'exact', resourceVersion };
  if (match === 'NotOlderThan') return { kind: 'notOlderThan', resourceVersion };
  // Without a match: a paginated list is an exact read, anything else "not older than".
  return limit !== undefined && limit > 0 ? { kind: 'exact', resourceVersion } : { kind: 'notOlderThan', resourceVersion };
}

export function parseReadOptions(query: URLSearchParams, type: ResourceType, forceWatch = false): ReadOptions {
  const watch = forceWatch || parseBoolean(query.get('watch')) === true;
  const rv = query.get('resourceVersion') ?? undefined;
  const match = query.get('resourceVersionMatch') || undefined;
  const limit = parseNonNegativeInteger('limit', query.get('limit'));
  const continueToken = query.get('continue') || undefined;
  const sendInitialEvents = parseBoolean(query.get('sendInitialEvents'));
  const allowWatchBookmarks = parseBoolean(query.get('allowWatchBookmarks')) === true;
  const timeoutSeconds = parseNonNegativeInteger('timeoutSeconds', query.get('timeoutSeconds'));

  if (sendInitialEvents !== undefined && !watch) {
    throw invalidListOptions('sendInitialEvents', 'Forbidden: sendInitialEvents is forbidden for list');
  }
  if (watch && sendInitialEvents !== undefined) {
    if (match !== 'NotOlderThan') throw invalidListOptions('resourceVersionMatch', 'Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan');
    if (!allowWatchBookmarks && sendInitialEvents) throw invalidListOptions('allowWatchBookmarks', 'Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true');
  } else if (watch && match !== undefined) {
    throw invalidListOptions('resourceVersionMatch', 'Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided');
  }

  return {
    labelSelector: parseLabelSelector(query.get('labelSelector') ?? undefined),
    fieldSelector: parseFieldSelector(query.get('fieldSelector') ?? undefined, type.extraSelectableFields),
    limit,
    // Watches have their own rules (above); where they start is decided from resourceVersion alone.
    consistency: watch ? { kind: 'mostRecent' } : consistencyFor(rv, match, limit, continueToken),
    resourceVersion: rv,
    watch,
    allowWatchBookmarks,
    sendInitialEvents,
    timeoutSeconds,
  };
}
