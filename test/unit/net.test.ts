import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { NetworkError, TimeLimitError } from '../../src/foundation/errors.ts';
import { planFor, up } from '../../src/core/up.ts';
import { parseConfig } from '../../src/ecosystems/config.ts';
import { unwire, wire } from '../../src/net/apply.ts';
import { dryRunner, isQuery, type DryRunOptions } from '../../src/net/dry-run.ts';
import { dummyInKernelConfig } from '../../src/net/links.ts';
import { chainName, networkPlan, validateNetwork, type NetworkPlan } from '../../src/net/plan.ts';
import { preflight } from '../../src/net/preflight.ts';
import { createRunner } from '../../src/net/runner.ts';
import { fileState, memoryState, statePath } from '../../src/net/state.ts';
import { fakeSystem, machineState, type FakeSystem } from '../helpers/fake-system.ts';

const defaults = { interface: 'offline0', address: '10.1.1.254', docker_network: 'no-internet', subnet: '10.1.1.0/24', bridge: 'br-offline' };

test('the rule plan: established, one accept per mirror port on the mirror address, then drop; jumped to from INPUT for the bridge', () => {
  const plan = networkPlan(defaults, [4873, 3141, 9129, 4873]);
  assert.equal(plan.chain, 'OFFLINE-br-offline');
  assert.deepEqual(plan.jump, { table: 'filter', chain: 'INPUT', spec: ['-i', 'br-offline', '-j', 'OFFLINE-br-offline'] });
  assert.deepEqual(plan.rules.map((r) => r.spec.join(' ')), [
    '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    '-d 10.1.1.254/32 -p tcp -m tcp --dport 3141 -j ACCEPT',
    '-d 10.1.1.254/32 -p tcp -m tcp --dport 4873 -j ACCEPT',
    '-d 10.1.1.254/32 -p tcp -m tcp --dport 9129 -j ACCEPT',
    '-j DROP',
  ]);
  assert.equal(plan.network.gateway, '10.1.1.1');
  const other = networkPlan({ ...defaults, bridge: 'br-very-long-nm', address: '172.30.0.10', subnet: '172.30.0.0/16' }, [5000]);
  assert.equal(other.chain, 'OFFLINE-br-very-long-nm');
  assert.equal(other.network.gateway, '172.30.0.1');
  assert.deepEqual(other.rules[1]!.spec.slice(0, 2), ['-d', '172.30.0.10/32']);
  assert.ok(chainName('x'.repeat(40)).length <= 28);
});

/** `up --dry-run`'s way: `wire` against the recording runner, asking `sys` only what it may read. */
async function dryWire(sys: FakeSystem, plan: NetworkPlan, options: DryRunOptions = { root: true, dummy: sys.dummy }) {
  const before = machineState(sys);
  const start = sys.calls.length;
  const dry = await dryRunner(sys.run, options);
  await wire(dry.run, memoryState(), plan);
  assert.equal(machineState(sys), before, 'a dry run changes nothing');
  assert.deepEqual(sys.calls.slice(start).filter((c) => !isQuery(c)), [], 'only queries reach the system');
  return dry;
}

test('a dry run prints the commands a real wire runs that change a fresh machine: with dummy links, and with only veth', async () => {
  const plan = networkPlan(defaults, [4873, 3141]);
  for (const dummy of [true, false]) {
    const real = fakeSystem({ dummy });
    await wire(real.run, fileState(await mkdtemp(join(tmpdir(), 'net-'))), plan);
    const dry = await dryWire(fakeSystem({ dummy }), plan);
    assert.deepEqual(dry.commands, real.changes, `dummy: ${dummy}`);
    const text = dry.commands.map((c) => c.join(' '));
    assert.match(text[0]!, /^docker network create --driver bridge --internal --subnet 10\.1\.1\.0\/24 --gateway 10\.1\.1\.1 --aux-address offline-mirror=10\.1\.1\.254 --opt com\.docker\.network\.bridge\.name=br-offline .* no-internet$/);
    assert.equal(text[1], dummy ? 'ip link add offline0 type dummy' : 'ip link add offline0 type veth peer name offline0p');
    assert.equal(text.includes('ip link set dev offline0p up'), !dummy);
    assert.ok(dry.commands.filter((c) => c[0] === 'iptables').every((c) => c[1] === '--wait'));
    assert.equal(text.at(-1), 'iptables --wait -t filter -I INPUT -i br-offline -j OFFLINE-br-offline');
    assert.equal(text.length, dummy ? 12 : 13);
    assert.deepEqual(dry.notes.map((n) => /no dummy link type/.test(n)), dummy ? [] : [true]);
  }
});

test('a dry run of a wired machine prints nothing for the same plan, and only the chain refill for a new port', async () => {
  const sys = fakeSystem({ dummy: false });
  const data = await mkdtemp(join(tmpdir(), 'net-'));
  await wire(sys.run, fileState(data), networkPlan(defaults, [4873]));
  assert.deepEqual((await dryWire(sys, networkPlan(defaults, [4873]))).commands, []);
  const wider = networkPlan(defaults, [4873, 3141]);
  const dry = await dryWire(sys, wider);
  const changed = sys.changes.length;
  await wire(sys.run, fileState(data), wider);
  assert.deepEqual(dry.commands, sys.changes.slice(changed));
  assert.deepEqual(dry.commands.map((c) => c[4]), ['-F', '-A', '-A', '-A', '-A']);
});

test('a dry run without root never runs iptables, without Docker assumes no network, and says both', async () => {
  const plan = networkPlan(defaults, [4873]);
  const real = fakeSystem({ dummy: true });
  await wire(real.run, fileState(await mkdtemp(join(tmpdir(), 'net-'))), plan);
  const user = fakeSystem({ dummy: true });
  const dry = await dryWire(user, plan, { root: false, dummy: true });
  assert.deepEqual(user.calls.filter((c) => c[0] === 'iptables'), []);
  assert.deepEqual(dry.commands, real.changes);
  assert.match(dry.notes.join('\n'), /not root: iptables was not read/);

  const noDocker = fakeSystem({ dummy: true, docker: false });
  const assumed = await dryWire(noDocker, plan, { root: true, dummy: undefined });
  assert.deepEqual(noDocker.calls.filter((c) => c[0] === 'docker'), [['docker', 'info', '--format', '{{.ServerVersion}}']]);
  assert.deepEqual(assumed.commands, real.changes);
  assert.match(assumed.notes.join('\n'), /Docker did not answer/);
  assert.match(assumed.notes.join('\n'), /could not tell whether this kernel has the dummy link type/);
});

test('only read-only commands count as queries; anything else is recorded, never run', () => {
  for (const q of [['docker', 'info'], ['docker', 'network', 'inspect', 'x'], ['ip', '-o', '-4', 'addr', 'show', 'dev', 'x'], ['ip', '-o', 'route', 'get', '10.1.1.2'], ['iptables', '--wait', '-t', 'filter', '-C', 'INPUT', '-j', 'X'], ['iptables', '--wait', '-t', 'filter', '-S', 'X']]) {
    assert.ok(isQuery(q), q.join(' '));
  }
  for (const c of [['docker', 'network', 'create', 'x'], ['docker', 'network', 'rm', 'x'], ['ip', 'link', 'set', 'dev', 'x', 'up'], ['ip', '-n', 'ns', 'link', 'show'], ['ip', '-b', 'file'], ['ip', 'addr', 'add', '1.2.3.4/32', 'dev', 'x'], ['iptables', '--wait', '-t', 'filter', '-A', 'X'], ['iptables', '-C', 'INPUT'], ['sh', '-c', 'ip link show']]) {
    assert.ok(!isQuery(c), c.join(' '));
  }
});

test('the kernel config says whether there are dummy links', () => {
  assert.equal(dummyInKernelConfig('CONFIG_VETH=y\nCONFIG_DUMMY=m\n'), true);
  assert.equal(dummyInKernelConfig('# CONFIG_MODULES is not set\n# CONFIG_DUMMY is not set\nCONFIG_VETH=y\n'), false);
  assert.equal(dummyInKernelConfig('CONFIG_DUMMY_IRQ=y\n'), undefined);
});

test('up --dry-run prints what wire would run, writes no state file and changes nothing', async () => {
  const data = await mkdtemp(join(tmpdir(), 'net-'));
  await chmod(data, 0o755);
  const config = await parseConfig(`data: ${data}\nnpm: { port: 4873 }\nnetwork: ${JSON.stringify(defaults)}\n`, join(data, 'offline.yaml'), {});
  const real = fakeSystem({ dummy: false });
  await wire(real.run, fileState(await mkdtemp(join(tmpdir(), 'net-'))), planFor(config));
  const sys = fakeSystem({ dummy: false });
  const report = await up({ config, dryRun: true, run: sys.run, uid: 0, dummy: false });
  assert.deepEqual(report.commands, real.changes);
  assert.deepEqual(sys.changes, []);
  await assert.rejects(readFile(statePath(data)), /ENOENT/);
  assert.deepEqual(report.mirrors, [{ name: 'npm', url: 'http://10.1.1.254:4873/' }]);
});

test('an address outside the subnet is refused with the reason; so are the gateway and the broadcast address', () => {
  const text = (net: typeof defaults) => validateNetwork(net).map((i) => `${i.path}: ${i.message}`);
  const [outside] = text({ ...defaults, address: '10.1.2.1' });
  assert.match(outside!, /^network\.address: 10\.1\.2\.1 is outside network\.subnet 10\.1\.1\.0\/24\. .*no default route \(Docker 25 and later\).*10\.1\.1\.254/);
  assert.match(text({ ...defaults, address: '10.1.1.1' })[0]!, /^network\.address: .*gateway/);
  assert.match(text({ ...defaults, address: '10.1.1.255' })[0]!, /^network\.address: .*broadcast/);
  assert.deepEqual(validateNetwork(defaults), []);
});

test('wire creates the network, a veth where there is no dummy type, the rules; a second wire changes nothing', async () => {
  const sys = fakeSystem({ dummy: false });
  const data = await mkdtemp(join(tmpdir(), 'net-'));
  const plan = networkPlan(defaults, [4873, 3141]);
  const steps = await wire(sys.run, fileState(data), plan);
  assert.equal(steps.length, 4);
  assert.match(steps[1]!, /veth pair .*no dummy link type/);
  assert.equal(sys.networks.get('no-internet')!.bridge, 'br-offline');
  assert.deepEqual(sys.links.get('offline0'), { kind: 'veth', addrs: ['10.1.1.254/32'], master: 'br-offline', up: true, alias: 'offline-mirror' });
  assert.equal(sys.links.get('offline0p')!.up, true);
  assert.deepEqual(sys.chains.get('INPUT'), ['-i br-offline -j OFFLINE-br-offline']);
  const iptablesCalls = sys.calls.filter((c) => c[0] === 'iptables');
  assert.ok(iptablesCalls.every((c) => c[1] === '--wait'));
  const jumpCheck = iptablesCalls.findIndex((c) => c[4] === '-C' && c[5] === 'INPUT');
  const jumpInsert = iptablesCalls.findIndex((c) => c[4] === '-I');
  assert.ok(jumpCheck >= 0 && jumpCheck < jumpInsert, 'rules are checked (-C) before they are added');

  const changed = sys.changes.length;
  const again = await wire(sys.run, fileState(data), plan);
  assert.deepEqual(again, []);
  assert.deepEqual(sys.changes.slice(changed), [], 'the second wire runs no command that changes anything');
  assert.deepEqual(sys.chains.get('INPUT'), ['-i br-offline -j OFFLINE-br-offline'], 'one copy of the jump');
  assert.equal(sys.chains.get('OFFLINE-br-offline')!.length, 4, 'one copy of each rule');
  assert.deepEqual(sys.links.get('offline0')!.addrs, ['10.1.1.254/32']);

  const dummy = fakeSystem({ dummy: true });
  assert.match((await wire(dummy.run, fileState(await mkdtemp(join(tmpdir(), 'net-'))), plan))[1]!, /created the dummy interface offline0/);
});

test('unwire removes exactly what wire created, and is harmless twice', async () => {
  const sys = fakeSystem();
  const data = await mkdtemp(join(tmpdir(), 'net-'));
  sys.networks.set('keep-me', { name: 'keep-me', subnet: '172.18.0.0/16', gateway: '172.18.0.1', bridge: 'br-keep', internal: false, aux: [], containers: [] });
  sys.chains.get('INPUT')!.push('-i eth0 -p tcp --dport 22 -j ACCEPT');
  const plan = networkPlan(defaults, [4873]);
  await wire(sys.run, fileState(data), plan);
  await unwire(sys.run, data, plan);
  assert.deepEqual([...sys.networks.keys()], ['keep-me']);
  assert.deepEqual([...sys.links.keys()], []);
  assert.deepEqual([...sys.chains.keys()], ['INPUT']);
  assert.deepEqual(sys.chains.get('INPUT'), ['-i eth0 -p tcp --dport 22 -j ACCEPT']);
  await unwire(sys.run, data, plan);
  await assert.rejects(readFile(statePath(data)), /ENOENT/);
});

test('a Docker network that existed before up is used, never removed; a foreign interface is refused', async () => {
  const sys = fakeSystem();
  const data = await mkdtemp(join(tmpdir(), 'net-'));
  const plan = networkPlan(defaults, [4873]);
  sys.networks.set('no-internet', { name: 'no-internet', subnet: '10.1.1.0/24', gateway: '10.1.1.1', bridge: 'br-offline', internal: true, aux: ['10.1.1.254'], containers: [] });
  await wire(sys.run, fileState(data), plan);
  await unwire(sys.run, data, plan);
  assert.ok(sys.networks.has('no-internet'));

  const foreign = fakeSystem();
  foreign.links.set('offline0', { kind: 'dummy', addrs: [], up: true });
  await assert.rejects(wire(foreign.run, fileState(await mkdtemp(join(tmpdir(), 'net-'))), plan), /offline0 exists and was not created by offline up/);
});

test('down after a crash half-way through up still cleans up what was recorded', async () => {
  const sys = fakeSystem();
  const data = await mkdtemp(join(tmpdir(), 'net-'));
  const plan = networkPlan(defaults, [4873]);
  const crashing: typeof sys.run = async (argv) => {
    if (argv[0] === 'iptables' && argv[4] === '-N') throw new Error('killed');
    return sys.run(argv);
  };
  await assert.rejects(wire(crashing, fileState(data), plan), /killed/);
  assert.ok(sys.links.has('offline0') && sys.networks.has('no-internet'));
  await unwire(sys.run, data, plan);
  assert.equal(sys.links.size, 0);
  assert.equal(sys.networks.size, 0);
});

test('preflight refuses: not root, Docker down, overlapping networks and routes, a used address', async () => {
  const plan = networkPlan(defaults, [4873]);
  await assert.rejects(preflight(fakeSystem().run, plan, 1000), /run it as root/);
  await assert.rejects(preflight(fakeSystem({ docker: false }).run, plan, 0), (e: unknown) => e instanceof NetworkError && /Docker is not running/.test(e.message));

  const overlap = fakeSystem();
  overlap.networks.set('other', { name: 'other', subnet: '10.1.0.0/16', gateway: '10.1.0.1', bridge: 'br-o', internal: false, aux: [], containers: [] });
  await assert.rejects(preflight(overlap.run, plan, 0), /overlaps 10\.1\.0\.0\/16 of the Docker network other/);

  const route = fakeSystem();
  route.routes.push({ prefix: '10.1.1.0/25', dev: 'wlan0' });
  await assert.rejects(preflight(route.run, plan, 0), /collides with the route 10\.1\.1\.0\/25 via wlan0/);

  const mismatch = fakeSystem();
  mismatch.networks.set('no-internet', { name: 'no-internet', subnet: '10.9.0.0/24', gateway: '10.9.0.1', internal: true, aux: [], containers: [] });
  await assert.rejects(preflight(mismatch.run, plan, 0), /exists with subnet 10\.9\.0\.0\/24.*docker network rm no-internet/);

  const used = fakeSystem();
  used.networks.set('no-internet', { name: 'no-internet', subnet: '10.1.1.0/24', gateway: '10.1.1.1', bridge: 'br-offline', internal: true, aux: [], containers: ['10.1.1.254'] });
  await assert.rejects(preflight(used.run, plan, 0), /10\.1\.1\.254 is used by a container/);

  await preflight(fakeSystem().run, plan, 0);
});

test('down trusts no name a forged state file gives: foreign links, networks and chains are left alone', async () => {
  const sys = fakeSystem();
  const data = await mkdtemp(join(tmpdir(), 'net-'));
  const plan = networkPlan(defaults, [4873]);
  sys.links.set('eth0', { kind: 'veth', addrs: ['192.168.5.2/24'], up: true });
  sys.networks.set('prod', { name: 'prod', subnet: '172.20.0.0/16', gateway: '172.20.0.1', bridge: 'br-prod', internal: false, aux: [], containers: [] });
  sys.chains.get('INPUT')!.push('-i eth0 -p tcp --dport 22 -j ACCEPT');
  // What a user who can write the data directory could leave for root's `offline down`.
  const forged = {
    plan: {
      network: { name: 'prod', subnet: '172.20.0.0/16', bridge: 'eth0', gateway: '172.20.0.1', address: '172.20.0.9' },
      link: { name: 'eth0', peer: 'eth0p', address: '172.20.0.9', bridge: 'eth0' },
      chain: 'INPUT', jump: { table: 'filter', chain: 'INPUT', spec: ['-i', 'eth0', '-j', 'INPUT'] }, rules: [], ports: [22],
    },
    created: { network: true, link: 'dummy' },
  };
  await writeFile(statePath(data), JSON.stringify(forged));
  const steps = await unwire(sys.run, data, plan);
  assert.ok(sys.links.has('eth0'), 'an interface without offline\'s alias is never removed');
  assert.ok(sys.networks.has('prod'), 'a network without offline\'s label is never removed');
  assert.deepEqual(sys.chains.get('INPUT'), ['-i eth0 -p tcp --dport 22 -j ACCEPT'], 'INPUT is never flushed');
  assert.ok(steps.some((s) => /left the interface eth0/.test(s)), steps.join('\n'));
  assert.ok(steps.some((s) => /left the Docker network prod/.test(s)), steps.join('\n'));

  const bad = { ...forged, plan: { ...forged.plan, link: { ...forged.plan.link, name: 'x; rm -rf /' } } };
  await writeFile(statePath(data), JSON.stringify(bad));
  const ignored = await unwire(sys.run, data, plan);
  assert.ok(ignored.some((s) => /ignored the plan in the state file/.test(s)), ignored.join('\n'));
});

test('an external command past its time limit is stopped and named, not waited on forever', async () => {
  const run = createRunner(300);
  await assert.rejects(run(['sleep', '30']), (err: unknown) => err instanceof TimeLimitError && /`sleep 30` did not finish within 0\.3 s/.test(err.message));
  assert.equal((await run(['true'])).code, 0);
});
