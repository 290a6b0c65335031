/**
 * The infrastructure the `offline up` system tests stand on: Docker, the local test image (node
 * and npm with no network), a namespace that plays the internet, and the fact the whole product
 * rests on — a container on an `--internal` network has no route out (Docker >= 25).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { createTestNetwork, dockerMissing, dockerRun, ensureTestImage, removeNetwork } from '../helpers/docker.ts';
import { reachable, startInternet } from '../helpers/internet.ts';
import { run } from '../helpers/run.ts';

const noDocker = await dockerMissing();
const notRoot = process.getuid?.() === 0 ? undefined : 'not root (network namespaces and veth pairs need root)';
if (noDocker) console.log(`# skipping the Docker tests: ${noDocker}`);
if (notRoot) console.log(`# skipping the namespace tests: ${notRoot}`);

/** Whether a container named `name` exists, running or not. */
async function containerExists(name: string): Promise<boolean> {
  const r = await run('docker', ['ps', '--all', '--quiet', '--filter', `name=^${name}$`]);
  return r.stdout.trim() !== '';
}

async function netnsExists(name: string): Promise<boolean> {
  const r = await run('ip', ['netns', 'list']);
  return r.stdout.split('\n').some((line) => line.split(' ')[0] === name);
}

async function linkExists(name: string): Promise<boolean> {
  return (await run('ip', ['link', 'show', 'dev', name])).code === 0;
}

test('the test image runs node and npm with no network', { skip: noDocker }, async () => {
  const image = await ensureTestImage();
  assert.match(image, /^offline-test\/node:[0-9a-f]{16}$/);
  assert.equal(await ensureTestImage(), image, 'the image is built once and reused');

  const node = await dockerRun(['--network', 'none', image, 'node', '-e', 'console.log(1+1)']);
  assert.equal(node.code, 0, node.stderr);
  assert.equal(node.stdout.trim(), '2');

  const npm = await dockerRun(['--network', 'none', image, 'npm', '--version']);
  assert.equal(npm.code, 0, npm.stderr);
  assert.match(npm.stdout.trim(), /^\d+\.\d+\.\d+$/);

  const versions = await dockerRun(['--network', 'none', image, 'sh', '-c', 'node --version; ls -ld /tmp']);
  assert.equal(versions.code, 0, versions.stderr);
  assert.equal(versions.stdout.split('\n')[0], process.version, 'the image carries the Node that runs the tests');
  assert.match(versions.stdout, /^drwxrwxrwt /m, '/tmp is 1777');
});

test('the internet namespace answers from the host, and close() removes it all', { skip: notRoot }, async () => {
  const internet = await startInternet();
  try {
    assert.match(internet.address, /^10\.254\.\d+\.2$/);
    const res = await fetch(`http://${internet.address}:${internet.port}/`, { signal: AbortSignal.timeout(3_000) });
    assert.equal(await res.text(), 'internet');
    assert.ok(await netnsExists(internet.name));
    assert.ok(await linkExists(internet.hostLink));
    const route = await run('ip', ['-n', internet.name, 'route', 'show', 'default']);
    assert.match(route.stdout, /^default via 10\.254\.\d+\.1 /, 'the namespace routes everything back through the host');
  } finally {
    await internet.close();
    await internet.close(); // idempotent
  }
  assert.equal(await netnsExists(internet.name), false, `namespace ${internet.name} is gone`);
  assert.equal(await linkExists(internet.hostLink), false, `veth ${internet.hostLink} is gone`);
  // No fetch now: with the veth gone the address would be routed out through the default route.
  const route = await run('ip', ['-4', 'route', 'get', internet.address]);
  assert.doesNotMatch(route.stdout, new RegExp(`dev ${internet.hostLink}\\b`), 'no route into the old veth remains');
});

test('a container on an --internal network has no default route and cannot reach the internet', { skip: noDocker }, async () => {
  const image = await ensureTestImage();
  const network = 'offline-test-infra';
  const subnet = '10.253.9.0/24';
  const container = `offline-infra-${randomBytes(4).toString('hex')}`;
  const internet = await startInternet();
  try {
    await createTestNetwork(network, subnet);
    const url = `http://${internet.address}:${internet.port}/`;
    assert.ok(await reachable(url, 3_000), 'the host reaches the internet namespace');

    // The probe prints the error's code: with no route the connect fails at once (ENETUNREACH),
    // where a blocked route would wait for the timeout.
    const probe = `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(3000) })
      .then(async (r) => { console.log('reached', r.status, await r.text()); process.exit(0); })
      .catch((e) => { console.log('failed', e.cause?.code ?? e.name); process.exit(1); });`;
    const script = `ip route; echo ---; node -e ${shellQuote(probe)}`;
    const r = await dockerRun(['--name', container, '--network', network, image, 'sh', '-c', script], {
      timeoutMs: 60_000,
    });
    const [routes = '', fetched = ''] = r.stdout.split('---\n');
    assert.equal(r.code, 1, `the fetch must fail:\n${r.stdout}${r.stderr}`);
    assert.match(fetched, /^failed /, r.stdout + r.stderr);
    const lines = routes.trim().split('\n');
    assert.ok(lines.length > 0 && lines.every((l) => l.startsWith('10.253.9.0/24 ')), `only the subnet is routed:\n${routes}`);
    assert.doesNotMatch(routes, /default/);
  } finally {
    await run('docker', ['rm', '--force', container]);
    await removeNetwork(network);
    await removeNetwork(network); // idempotent
    await internet.close();
  }
  assert.equal(await containerExists(container), false, `container ${container} is gone`);
  assert.notEqual((await run('docker', ['network', 'inspect', network])).code, 0, `network ${network} is gone`);
  assert.equal(await netnsExists(internet.name), false, `namespace ${internet.name} is gone`);
  assert.equal(await linkExists(internet.hostLink), false, `veth ${internet.hostLink} is gone`);
});

/** `s` as one single-quoted sh word. */
function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}
