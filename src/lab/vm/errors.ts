/**
 * The VM cannot be had on this machine at all: no qemu, no static busybox, or no kernel (apt has no
 * route to the archive and nothing is cached). Tests skip on this and say why; everything else fails.
 */
export class VmUnavailableError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'VmUnavailableError';
  }
}

/** The VM booted (or tried to) but the guest never reported how the command ended. */
export class VmRunError extends Error {
  constructor(
    message: string,
    /** The last part of the serial console: kernel messages and the init's stage lines. */
    readonly consoleTail: string,
  ) {
    super(`${message}\n--- guest console (last lines) ---\n${consoleTail}`);
    this.name = 'VmRunError';
  }
}
