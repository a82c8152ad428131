/** The progress line on stderr: elapsed time, job k of n, what is running. */
export function formatProgress(elapsedMs: number, job: number, jobs: number, what: string): string {
  const s = Math.floor(elapsedMs / 1000);
  const clock = `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  return `[${clock} ${job}/${jobs}] ${what}`;
}
