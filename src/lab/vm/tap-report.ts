/**
 * Reads what the host needs from the guest's TAP stream (tap's "tap" reporter): the closing totals
 * and one result per top-level test, which is one per test file.
 */

export interface TapTotals {
  total: number;
  pass: number;
  fail: number;
  skip: number;
  todo: number;
}

/** tap ends its stream with a comment such as `# { total: 6, pass: 5, fail: 1, skip: 0 }`; zeros may be left out. */
export function parseTapTotals(tap: string): TapTotals | undefined {
  const lines = tap.split('\n').filter((line) => /^# \{ total: \d+/.test(line));
  const last = lines.at(-1);
  if (!last) return undefined;
  const count = (key: string): number => Number(new RegExp(`\\b${key}: (\\d+)`).exec(last)?.[1] ?? 0);
  return { total: count('total'), pass: count('pass'), fail: count('fail'), skip: count('skip'), todo: count('todo') };
}

export interface TopLevelResult {
  ok: boolean;
  name: string;
  /** `SKIP` or `TODO` with its reason, when the point carries a directive. */
  directive?: string;
  /** The lines of this test's subtest block, for showing a failure. */
  block: string;
}

/**
 * Top-level test points. Subtests are indented, so only column-0 `ok`/`not ok` lines are files;
 * the block is everything since the previous top-level point.
 */
export function topLevelResults(tap: string): TopLevelResult[] {
  const results: TopLevelResult[] = [];
  let block: string[] = [];
  for (const line of tap.split('\n')) {
    block.push(line);
    const point = /^(not )?ok \d+(?: - (.*?))?(?: # (.*))?$/.exec(line);
    if (!point) continue;
    const directive = point[3] && /^(SKIP|TODO)\b/i.test(point[3]) ? point[3] : undefined;
    results.push({
      ok: !point[1],
      name: point[2] ?? '(unnamed)',
      ...(directive ? { directive } : {}),
      block: block.join('\n').trim(),
    });
    block = [];
  }
  return results;
}
