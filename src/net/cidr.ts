/** IPv4 arithmetic for the mirror address checks. */
export type Cidr = { network: number; prefix: number };

export function parseIp(ip: string): number | undefined {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function formatIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

export function parseCidr(text: string): Cidr | undefined {
  const [ip, bits] = text.split('/');
  const base = parseIp(ip ?? '');
  const prefix = Number(bits ?? '32');
  if (base === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) return undefined;
  return { network: (base & mask(prefix)) >>> 0, prefix };
}

export function mask(prefix: number): number {
  return prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
}

export function contains(cidr: Cidr, ip: number): boolean {
  return ((ip & mask(cidr.prefix)) >>> 0) === cidr.network;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const prefix = Math.min(a.prefix, b.prefix);
  return ((a.network & mask(prefix)) >>> 0) === ((b.network & mask(prefix)) >>> 0);
}

export function broadcast(cidr: Cidr): number {
  return (cidr.network | ~mask(cidr.prefix)) >>> 0;
}

/** Docker's default gateway for a subnet: the first host address. */
export function firstHost(cidr: Cidr): number {
  return cidr.network + 1;
}
