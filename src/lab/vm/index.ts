/** The VM lab: run commands and test files inside a VM that boots Debian's kernel (IPVS and all). */
export { VmRunError, VmUnavailableError } from './errors.js';
export { KernelUnavailableError, type DebianKernel } from './debian-kernel.js';
export { runInVm, prepareVm, type PreparedVm, type VmRunOptions, type VmRunResult, type OutputStream } from './run-in-vm.js';
export { runGuestSuite, guestSuiteTimeoutMs, guestTestDir, type GuestSuiteOptions, type GuestSuiteResult } from './guest-suite.js';
export { parseTapTotals, topLevelResults, type TapTotals, type TopLevelResult } from './tap-report.js';
