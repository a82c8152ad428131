import { badRequest } from './status.js';
import type { KubeObject } from './types.js';

/**
 * Field selectors as `k8s.io/apimachinery/pkg/fields.ParseSelector` reads them: comma-separated
 * `field=value`, `field==value` or `field!=value`, with `\,` `\=` `\\` escapes. Only the fields the
 * resource declares selectable are accepted; anything else is the real server's 400.
 */

export interface FieldRequirement {
  field: string;
  operator: 'equals' | 'notEquals';
  value: string;
}

export type FieldSelector = readonly FieldRequirement[];

const ALWAYS_SELECTABLE = ['metadata.name', 'metadata.namespace'];

/** Splits on unescaped commas and unescapes afterwards, as upstream does. */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let current = '';
  for (let i = 0; i < selector.length; i++) {
    const ch = selector[i];
    if (ch === '\\' && i + 1 < selector.length) {
      current += ch + selector[i + 1];
      i++;
    } else if (ch === ',') {
      terms.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  terms.push(current);
  return terms;
}

function unescape(text: string): string {
  return text.replace(/\\(.)/g, '$1');
}

/** Finds the first unescaped operator in a term. */
function splitTerm(term: string): { field: string; operator: FieldRequirement['operator']; value: string } | undefined {
  for (let i = 0; i < term.length; i++) {
    const ch = term[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    if (ch === '!' && term[i + 1] === '=') return { field: term.slice(0, i), operator: 'notEquals', value: term.slice(i + 2) };
    if (ch === '=' && term[i + 1] === '=') return { field: term.slice(0, i), operator: 'equals', value: term.slice(i + 2) };
    if (ch === '=') return { field: term.slice(0, i), operator: 'equals', value: term.slice(i + 1) };
  }
  return undefined;
}

export function parseFieldSelector(selector: string | undefined, selectableFields: readonly string[]): FieldSelector {
  if (selector === undefined || selector.trim() === '') return [];
  const allowed = new Set([...ALWAYS_SELECTABLE, ...selectableFields]);
  return splitTerms(selector).map((term) => {
    const parts = splitTerm(term);
    if (!parts) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    const field = parts.field.trim();
    if (!allowed.has(field)) throw badRequest(`field label not supported: ${field}`);
    return { field, operator: parts.operator, value: unescape(parts.value) };
  });
}

/** Reads a dotted field path as a string the way upstream's field sets render it (missing → ''). */
export function fieldValue(obj: KubeObject, field: string): string {
  let current: unknown = obj;
  for (const segment of field.split('.')) {
    if (current === null || typeof current !== 'object') return '';
    current = (current as Record<string, unknown>)[segment];
  }
  if (current === undefined || current === null) return '';
  return String(current);
}

export function matchesFields(selector: FieldSelector, obj: KubeObject): boolean {
  return selector.every((req) => {
    const actual = fieldValue(obj, req.field);
    return req.operator === 'equals' ? actual === req.value : actual !== req.value;
  });
}
