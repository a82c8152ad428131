import t from 'tap';
import { parseTapTotals, topLevelResults } from '../../src/lab/vm/tap-report.js';

// What `tap --reporter=tap` prints for two files, one with a failing nested assertion.
const stream = `TAP version 14
1..2
# Subtest: dist/test/vm/guest/a.test.js
    # Subtest: inner
        not ok 1 - ok 1 - looks like a point but is nested
          ---
          at: { line: 3 }
          ...
        1..1
    not ok 1 - inner # time=3ms
    1..1
not ok 1 - dist/test/vm/guest/a.test.js # time=10ms

# Subtest: dist/test/vm/guest/b.test.js
    ok 1 - b1
    ok 2 - b2 # SKIP not in this kernel
    1..2
ok 2 - dist/test/vm/guest/b.test.js # time=5ms

# { total: 3, pass: 1, fail: 1, skip: 1 }
# time=1748.428ms
`;

t.test('totals come from the closing comment, absent counts as zero', async (t) => {
  t.same(parseTapTotals(stream), { total: 3, pass: 1, fail: 1, skip: 1, todo: 0 });
  t.same(parseTapTotals('# { total: 5, pass: 5 }\n'), { total: 5, pass: 5, fail: 0, skip: 0, todo: 0 });
  t.equal(parseTapTotals('TAP version 14\n1..0\n'), undefined, 'no totals when tap never finished');
  t.equal(parseTapTotals('    # { total: 1, pass: 1 }\n'), undefined, 'an indented (nested) comment is not the total');
});

t.test('one result per top-level point, with its block', async (t) => {
  const results = topLevelResults(stream);
  t.same(
    results.map(({ ok, name, directive }) => ({ ok, name, directive })),
    [
      { ok: false, name: 'dist/test/vm/guest/a.test.js', directive: undefined },
      { ok: true, name: 'dist/test/vm/guest/b.test.js', directive: undefined },
    ],
  );
  t.match(results[0]?.block, /looks like a point but is nested/);
  t.notMatch(results[1]?.block, /looks like a point/);
});

t.test('a skipped file keeps its directive', async (t) => {
  const [result] = topLevelResults('ok 1 - dist/test/vm/guest/c.test.js # SKIP no IPVS\n');
  t.equal(result?.directive, 'SKIP no IPVS');
});
