/** What a system test compares before `up` and after `down`: the host's firewall and links. */
import { run } from './run.ts';

export type Snapshot = { filter: string; nat: string; links: string };

/** iptables (filter, nat) and links, without counters and indexes that change on their own. */
export async function snapshot(): Promise<Snapshot> {
  const save = async (table: string) => (await run('iptables-save', ['-t', table])).stdout
    .split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/ \[\d+:\d+\]$/, '')).join('\n');
  const links = (await run('ip', ['-o', 'link'])).stdout.split('\n').filter(Boolean)
    .map((l) => l.replace(/^\d+: /, '').split(':')[0]!).sort().join('\n');
  return { filter: await save('filter'), nat: await save('nat'), links };
}
