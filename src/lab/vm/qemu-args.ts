import { cacheTag, hostRootTag, ioTag } from './guest-init.js';

export interface QemuMachine {
  kernel: string;
  initramfs: string;
  /** Host folder shared writable as the I/O share. */
  ioDir: string;
  /** Host folder shared writable for caches that outlive one VM. */
  cacheDir: string;
  memoryMiB: number;
  cpus: number;
}

/**
 * The qemu command line. TCG because KVM is not usable on the machines this runs on; no network
 * card because the lab builds its own namespaces inside the guest; the serial console on stdio is
 * the only channel besides the 9p shares.
 */
export function qemuArgs(machine: QemuMachine): string[] {
  const share = (id: string, path: string, extra: string): string[] => [
    '-fsdev',
    // security_model=none: files keep their host owners, and writes work without root on the host.
    `local,id=${id},path=${path},security_model=none${extra}`,
    '-device',
    `virtio-9p-pci,fsdev=${id},mount_tag=${id}`,
  ];
  return [
    '-accel',
    'tcg',
    // "max" offers every instruction TCG emulates; node needs more than the default qemu64 model.
    '-cpu',
    'max',
    '-m',
    String(machine.memoryMiB),
    '-smp',
    String(machine.cpus),
    '-nographic',
    '-nodefaults',
    '-no-user-config',
    '-serial',
    'stdio',
    // A kernel panic or a failed init reboots, and -no-reboot turns that into qemu exiting.
    '-no-reboot',
    '-kernel',
    machine.kernel,
    '-initrd',
    machine.initramfs,
    '-append',
    'console=ttyS0 quiet panic=-1 rdinit=/init',
    // The host's root holds other mounts (/proc, /dev, ...); remap keeps their inode numbers apart.
    ...share(hostRootTag, '/', ',readonly=on,multidevs=remap'),
    ...share(ioTag, machine.ioDir, ''),
    ...share(cacheTag, machine.cacheDir, ''),
  ];
}
