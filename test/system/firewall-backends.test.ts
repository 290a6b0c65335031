/**
 * The firewall half of `offline up` against both iptables backends, iptables-nft and
 * iptables-legacy, each in a network namespace of its own (netfilter tables are per namespace,
 * so neither the host's rules nor Docker's are touched): the chain and the jump are created,
 * applying again changes nothing, and teardown leaves `*-save` exactly as it was.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { hasNetns, run } from '../helpers/run.ts';

const netnsMissing = await hasNetns();
const module = (path: string) => JSON.stringify(fileURLToPath(new URL(path, import.meta.url)));

/** Runs inside `unshare -n`: the real rule operations, with `iptables` mapped to one backend. */
function script(backend: string): string {
  return `
import { spawnSync } from 'node:child_process';
const { ensureChain, ensureRule, deleteChain, deleteRule, listChain } = await import(${module('../../src/net/iptables.ts')});
const { networkPlan } = await import(${module('../../src/net/plan.ts')});
const { systemRunner } = await import(${module('../../src/net/runner.ts')});
const run = (argv) => systemRunner(argv[0] === 'iptables' ? ['${backend}', ...argv.slice(1)] : argv);
const save = () => spawnSync('${backend}-save', ['-t', 'filter']).stdout.toString().split('\\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/ \\[\\d+:\\d+\\]$/, '')).join('\\n');
const plan = networkPlan({ interface: 'offline0', address: '10.1.1.254', docker_network: 'no-internet', subnet: '10.1.1.0/24', bridge: 'br-offline' }, [4873, 3141, 9129, 5000]);
const before = save();
const changed = [await ensureChain(run, 'filter', plan.chain, plan.rules), await ensureRule(run, plan.jump, 'insert')];
const again = [await ensureChain(run, 'filter', plan.chain, plan.rules), await ensureRule(run, plan.jump, 'insert')];
const rules = await listChain(run, 'filter', plan.chain);
const during = save();
await deleteRule(run, plan.jump);
await deleteChain(run, 'filter', plan.chain);
console.log(JSON.stringify({ changed, again, rules, jumps: during.split('\\n').filter((l) => l.includes('-j ' + plan.chain)).length, restored: save() === before }));
`;
}

for (const backend of ['iptables-nft', 'iptables-legacy']) {
  test(`${backend}: the chain and jump apply once, stay put on a second apply, and are removed without a trace`, async (t) => {
    if (netnsMissing) return t.skip(`no network namespace: ${netnsMissing}`);
    if ((await run('sh', ['-c', `command -v ${backend}`])).code !== 0) return t.skip(`${backend} is not installed`);
    const r = await run('unshare', ['-n', process.execPath, '--input-type=module', '-e', script(backend)], { env: process.env });
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    assert.deepEqual(result.changed, [true, true]);
    assert.deepEqual(result.again, [false, false], 'a second apply changes nothing');
    assert.equal(result.rules.length, 6);
    assert.equal(result.rules.at(-1), '-A OFFLINE-br-offline -j DROP');
    assert.equal(result.jumps, 1);
    assert.equal(result.restored, true, `${backend}-save is as it was`);
  });
}
