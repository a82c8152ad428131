/** The harness's JSON report on one stdout line behind this marker (for runs in the VM lab). */
export const REPORT_MARKER = '@@bench-report ';
