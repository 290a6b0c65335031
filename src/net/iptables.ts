import { must, type Runner } from './runner.ts';

/**
 * Firewall rules as values (moby's libnetwork/iptables): each operation is a no-op when the
 * system is already so, every call waits for the xtables lock (`--wait`), and our rules live in a
 * chain we own, so teardown is flush-and-delete. Works the same with iptables-nft and -legacy:
 * whichever `iptables` the system selects (as Docker does).
 */
export type Rule = { table: 'filter' | 'nat'; chain: string; spec: string[] };

const IPTABLES = 'iptables';

export function ruleArgs(rule: Rule, action: '-C' | '-A' | '-I' | '-D'): string[] {
  return [IPTABLES, '--wait', '-t', rule.table, action, rule.chain, ...rule.spec];
}

export async function ruleExists(run: Runner, rule: Rule): Promise<boolean> {
  return (await run(ruleArgs(rule, '-C'))).code === 0;
}

/** Add the rule unless it is there (`-C` first). Returns whether it was added. */
export async function ensureRule(run: Runner, rule: Rule, position: 'append' | 'insert'): Promise<boolean> {
  if (await ruleExists(run, rule)) return false;
  await must(run, ruleArgs(rule, position === 'insert' ? '-I' : '-A'));
  return true;
}

/** Delete every copy of the rule; nothing when it is absent. */
export async function deleteRule(run: Runner, rule: Rule): Promise<void> {
  for (let i = 0; i < 100 && (await ruleExists(run, rule)); i++) await must(run, ruleArgs(rule, '-D'));
}

export async function chainExists(run: Runner, table: Rule['table'], chain: string): Promise<boolean> {
  return (await run([IPTABLES, '--wait', '-t', table, '-S', chain])).code === 0;
}

/**
 * Make the chain hold exactly `rules`, in order. An existing chain with other content (an older
 * port list) is flushed and refilled; one that already matches is left alone.
 */
export async function ensureChain(run: Runner, table: Rule['table'], chain: string, rules: Rule[]): Promise<boolean> {
  if (await chainExists(run, table, chain)) {
    const listed = (await must(run, [IPTABLES, '--wait', '-t', table, '-S', chain])).stdout.trim().split('\n').slice(1);
    const wanted = rules.map((r) => `-A ${chain} ${r.spec.join(' ')}`);
    if (listed.length === wanted.length && listed.every((line, i) => line === wanted[i])) return false;
    await must(run, [IPTABLES, '--wait', '-t', table, '-F', chain]);
  } else {
    await must(run, [IPTABLES, '--wait', '-t', table, '-N', chain]);
  }
  for (const rule of rules) await must(run, ruleArgs(rule, '-A'));
  return true;
}

/** Flush and delete the chain; nothing when it is absent. Remove every jump to it first. */
export async function deleteChain(run: Runner, table: Rule['table'], chain: string): Promise<void> {
  if (!(await chainExists(run, table, chain))) return;
  await must(run, [IPTABLES, '--wait', '-t', table, '-F', chain]);
  await must(run, [IPTABLES, '--wait', '-t', table, '-X', chain]);
}

/** The rules of our chain as `iptables -S` prints them, for status. */
export async function listChain(run: Runner, table: Rule['table'], chain: string): Promise<string[] | undefined> {
  const res = await run([IPTABLES, '--wait', '-t', table, '-S', chain]);
  return res.code === 0 ? res.stdout.trim().split('\n').slice(1) : undefined;
}
