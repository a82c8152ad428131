import { badRequest } from './status.js';

/**
 * Label selectors as `k8s.io/apimachinery/pkg/labels.Parse` reads them: comma-separated
 * requirements, with `=`, `==`, `!=`, `in (...)`, `notin (...)`, bare `key` (exists),
 * `!key` (does not exist) and the numeric `>` / `<`.
 */

export type LabelOperator = 'exists' | 'doesNotExist' | 'equals' | 'notEquals' | 'in' | 'notIn' | 'greaterThan' | 'lessThan';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

export type LabelSelector = readonly LabelRequirement[];

// Upstream's qualified-name rule: an optional DNS-subdomain prefix, then a name of at most 63 chars.
const KEY_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const KEY_PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function validateKey(key: string, selector: string): void {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const prefixOk = prefix === undefined || (prefix.length <= 253 && KEY_PREFIX.test(prefix));
  if (!prefixOk || !KEY_NAME.test(name)) {
    throw badRequest(`unable to parse requirement: invalid label key "${key}" in selector "${selector}"`);
  }
}

function validateValue(value: string, selector: string): void {
  if (value.length > 63 || !VALUE.test(value)) {
    throw badRequest(`unable to parse requirement: invalid label value: "${value}" in selector "${selector}"`);
  }
}

/** Splits on commas that are not inside `( ... )`. */
function splitRequirements(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts.map((p) => p.trim());
}

function parseSet(text: string, selector: string): string[] {
  const trimmed = text.trim();
  if (!trimmed.startsWith('(') || !trimmed.endsWith(')')) {
    throw badRequest(`unable to parse requirement: found '${trimmed}', expected: '(' in selector "${selector}"`);
  }
  const values = trimmed
    .slice(1, -1)
    .split(',')
    .map((v) => v.trim());
  for (const v of values) validateValue(v, selector);
  return values;
}

function parseRequirement(text: string, selector: string): LabelRequirement {
  if (text === '') throw badRequest(`unable to parse requirement: found '', expected: identifier in selector "${selector}"`);
  if (text.startsWith('!')) {
    const key = text.slice(1).trim();
    validateKey(key, selector);
    return { key, operator: 'doesNotExist', values: [] };
  }
  const setMatch = /^(\S+)\s+(in|notin)\s*(\(.*\))$/.exec(text);
  if (setMatch) {
    const [, key = '', op, set = ''] = setMatch;
    validateKey(key, selector);
    return { key, operator: op === 'in' ? 'in' : 'notIn', values: parseSet(set, selector) };
  }
  const opMatch = /^([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(.*)$/.exec(text);
  if (opMatch) {
    const [, key = '', op, value = ''] = opMatch;
    validateKey(key, selector);
    if (op === '>' || op === '<') {
      if (!/^-?\d+$/.test(value)) throw badRequest(`unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer in selector "${selector}"`);
      return { key, operator: op === '>' ? 'greaterThan' : 'lessThan', values: [value] };
    }
    validateValue(value, selector);
    return { key, operator: op === '!=' ? 'notEquals' : 'equals', values: [value] };
  }
  validateKey(text, selector);
  return { key: text, operator: 'exists', values: [] };
}

export function parseLabelSelector(selector: string | undefined): LabelSelector {
  if (selector === undefined || selector.trim() === '') return [];
  return splitRequirements(selector).map((part) => parseRequirement(part, selector));
}

function matchesRequirement(req: LabelRequirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, req.key);
  const value = has ? labels[req.key] : undefined;
  switch (req.operator) {
    case 'exists':
      return has;
    case 'doesNotExist':
      return !has;
    case 'equals':
    case 'in':
      return has && req.values.includes(value as string);
    // Upstream: `!=` and `notin` also match objects that lack the label.
    case 'notEquals':
    case 'notIn':
      return !has || !req.values.includes(value as string);
    case 'greaterThan':
    case 'lessThan': {
      if (!has || !/^-?\d+$/.test(value as string)) return false;
      const actual = Number(value);
      const bound = Number(req.values[0]);
      return req.operator === 'greaterThan' ? actual > bound : actual < bound;
    }
  }
}

export function matchesLabels(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const actual = labels ?? {};
  return selector.every((req) => matchesRequirement(req, actual));
}
