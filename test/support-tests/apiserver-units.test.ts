import t from 'tap';
import { decodeContinueToken, encodeContinueToken } from '../support/apiserver/continue-token.js';
import { parseFieldSelector, matchesFields } from '../support/apiserver/field-selector.js';
import { applyJsonPatch } from '../support/apiserver/json-patch.js';
import { matchesLabels, parseLabelSelector } from '../support/apiserver/label-selector.js';
import { applyMergePatch } from '../support/apiserver/merge-patch.js';
import { parseRoute } from '../support/apiserver/routes.js';
import { allocateClusterIp, canonicalIp } from '../support/apiserver/service-allocations.js';
import { ApiError } from '../support/apiserver/status.js';
import { EventLog } from '../support/apiserver/event-log.js';

/** The pure parts of the test API server. */

/** The Status code of the ApiError `fn` throws (or 0 if it throws something else, -1 if nothing). */
function thrownCode(fn: () => unknown): number {
  try {
    fn();
  } catch (error) {
    return error instanceof ApiError ? error.code : 0;
  }
  return -1;
}

t.test('label selector parsing and matching follow apimachinery', async (t) => {
  const sel = parseLabelSelector('!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless');
  t.same(sel, [
    { key: 'service.kubernetes.io/service-proxy-name', operator: 'doesNotExist', values: [] },
    { key: 'service.kubernetes.io/headless', operator: 'doesNotExist', values: [] },
  ]);
  t.ok(matchesLabels(sel, undefined));
  t.ok(matchesLabels(sel, { app: 'x' }));
  t.notOk(matchesLabels(sel, { 'service.kubernetes.io/headless': '' }), 'an empty value still counts as present');

  const cases: Array<[string, Record<string, string>, boolean]> = [
    ['a=b', { a: 'b' }, true],
    ['a==b', { a: 'c' }, false],
    ['a!=b', {}, true],
    ['a in (b, c)', { a: 'c' }, true],
    ['a notin (b,c)', { a: 'd' }, true],
    ['a notin (b,c)', {}, true],
    ['a', { a: '' }, true],
    ['a,b=c', { a: '1', b: 'c' }, true],
    ['a>5', { a: '7' }, true],
    ['a<5', { a: 'x' }, false],
    ['', { whatever: 'x' }, true],
  ];
  for (const [text, labels, expected] of cases) t.equal(matchesLabels(parseLabelSelector(text), labels), expected, `${text} on ${JSON.stringify(labels)}`);
  for (const bad of ['a in (b', 'a=b c', '!', 'a,,b', 'a>x', 'Bad_/x'])
    t.equal(thrownCode(() => parseLabelSelector(bad)), 400, `"${bad}" is a 400`);
});

t.test('field selectors: supported fields only, escapes, != ', async (t) => {
  const obj = { metadata: { name: 'a,b', namespace: 'ns' }, spec: { type: 'NodePort' } };
  t.ok(matchesFields(parseFieldSelector('metadata.name=a\\,b', []), obj));
  t.ok(matchesFields(parseFieldSelector('metadata.namespace==ns,spec.type!=ClusterIP', ['spec.type']), obj));
  t.notOk(matchesFields(parseFieldSelector('metadata.namespace!=ns', []), obj));
  t.throws(() => parseFieldSelector('spec.type=x', []), /field label not supported: spec.type/);
  t.throws(() => parseFieldSelector('nonsense', []), /invalid selector/);
});

t.test('merge patch and JSON patch', async (t) => {
  t.same(applyMergePatch({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { b: null, d: 3 }, l: [3] }), { a: { c: 2, d: 3 }, l: [3] });
  const doc = { metadata: { labels: { a: '1' } }, list: [1, 2] };
  t.same(
    applyJsonPatch(doc, [
      { op: 'add', path: '/metadata/labels/b~1c', value: '2' },
      { op: 'remove', path: '/metadata/labels/a' },
      { op: 'add', path: '/list/-', value: 3 },
      { op: 'replace', path: '/list/0', value: 0 },
      { op: 'test', path: '/list/1', value: 2 },
    ]),
    { metadata: { labels: { 'b/c': '2' } }, list: [0, 2, 3] },
  );
  t.same(doc, { metadata: { labels: { a: '1' } }, list: [1, 2] }, 'the input is not mutated');
  t.equal(thrownCode(() => applyJsonPatch(doc, [{ op: 'test', path: '/list/0', value: 9 }])), 422);
  t.equal(thrownCode(() => applyJsonPatch(doc, [{ op: 'remove', path: '/nope' }])), 422);
});

t.test('continue tokens have the real format', async (t) => {
  const token = encodeContinueToken({ resourceVersion: 1234, afterKey: 'default/web' });
  t.same(JSON.parse(Buffer.from(token, 'base64').toString()), { v: 'meta.k8s.io/v1', rv: 1234, start: 'default/web\u0000' });
  t.same(decodeContinueToken(token), { resourceVersion: 1234, afterKey: 'default/web' });
  t.equal(thrownCode(() => decodeContinueToken('garbage')), 400);
});

t.test('routes', async (t) => {
  t.match(parseRoute('/api/v1/namespaces/ns/services/web/status'), { kind: 'resource', namespace: 'ns', name: 'web', subresource: 'status', type: { name: 'services' } });
  t.match(parseRoute('/apis/discovery.k8s.io/v1/endpointslices'), { kind: 'resource', type: { name: 'endpointslices' } });
  t.match(parseRoute('/api/v1/nodes/n1'), { kind: 'resource', name: 'n1', type: { name: 'nodes' } });
  t.match(parseRoute('/apis/networking.k8s.io/v1/servicecidrs'), { kind: 'resource', type: { name: 'servicecidrs' } });
  t.same(parseRoute('/api/v1/services/web'), { kind: 'unknown' }, 'a named Service needs its namespace');
  t.same(parseRoute('/api/v1/namespaces/ns/endpointslices'), { kind: 'unknown' }, 'EndpointSlices are not in the core group');
  t.same(parseRoute('/apis/discovery.k8s.io/v1/namespaces/ns/endpointslices/x/status'), { kind: 'unknown' }, 'no status subresource');
  t.match(parseRoute('/apis/discovery.k8s.io'), { kind: 'discovery', document: { group: 'discovery.k8s.io' } });
});

t.test('ClusterIP allocation', async (t) => {
  t.equal(allocateClusterIp('10.96.0.0/12', 'IPv4', new Set()), '10.96.0.1');
  t.equal(allocateClusterIp('10.96.0.0/12', 'IPv4', new Set(['10.96.0.1'])), '10.96.0.2');
  t.equal(allocateClusterIp('10.0.0.0/30', 'IPv4', new Set(['10.0.0.1', '10.0.0.2'])), undefined, 'the broadcast address is never used');
  t.equal(allocateClusterIp('fd00:10:96::/112', 'IPv6', new Set(['fd00:10:96::1'])), 'fd00:10:96::2');
  t.equal(canonicalIp('fd00:0010:0096:0:0:0:0:0001'), 'fd00:10:96::1');
});

t.test('event log: bounded window and compaction decide what is too old', async (t) => {
  const log = new EventLog(2, 10);
  t.ok(log.covers(10));
  t.notOk(log.covers(9));
  for (const rv of [11, 12, 13]) log.append({ type: 'ADDED', resourceVersion: rv, key: `k${rv}`, object: { metadata: {} } });
  t.equal(log.compactedThrough, 11, 'the oldest event fell out');
  t.notOk(log.covers(10));
  t.same(log.after(11).map((e) => e.resourceVersion), [12, 13]);
  log.compact(13);
  t.same(log.after(11), []);
  t.ok(log.covers(13));
  t.notOk(log.covers(12));
});
