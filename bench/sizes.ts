/** Workload sizes as the command line spells them: "<services>x<endpoints per service>". */
import { MAX_ENDPOINTS_PER_SERVICE, MAX_SERVICES, type WorkloadSize } from './workload.js';

export const DEFAULT_SIZES = '1000x10,5000x10,10000x10,100x100';
export const QUICK_SIZES = '1000x10,100x100';

export function parseSize(text: string): WorkloadSize {
  const m = /^(\d+)x(\d+)$/.exec(text.trim());
  if (!m) throw new Error(`a size is <services>x<endpoints>, e.g. 1000x10; got "${text}"`);
  const services = Number(m[1]);
  const endpointsPerService = Number(m[2]);
  // Pod addresses are laid out per service (see podIP), which bounds both numbers.
  if (services < 1 || services > MAX_SERVICES) throw new Error(`services must be 1..${MAX_SERVICES}, got ${services}`);
  if (endpointsPerService < 1 || endpointsPerService > MAX_ENDPOINTS_PER_SERVICE) {
    throw new Error(`endpoints per service must be 1..${MAX_ENDPOINTS_PER_SERVICE}, got ${endpointsPerService}`);
  }
  return { services, endpointsPerService };
}

export function parseSizes(text: string): WorkloadSize[] {
  return text.split(',').filter((s) => s.trim() !== '').map(parseSize);
}

export function sizeLabel(size: WorkloadSize): string {
  return `${size.services}x${size.endpointsPerService}`;
}
