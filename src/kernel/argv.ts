/** Splits an iptables-save rule line into arguments, honouring double quotes (as the shell would). */
export function splitRuleLine(line: string): string[] {
  const args: string[] = [];
  let cur = '';
  let inQuote = false;
  let has = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (inQuote) {
      if (ch === '\\' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') inQuote = false;
      else cur += ch;
    } else if (ch === '"') {
      inQuote = true;
      has = true;
    } else if (ch === ' ' || ch === '\t') {
      if (has || cur) args.push(cur);
      cur = '';
      has = false;
    } else cur += ch;
  }
  if (has || cur) args.push(cur);
  return args;
}
