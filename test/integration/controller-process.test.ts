/**
 * The controller beside the compose stack (docs/adr/0016): `up --compose` starts `offline
 * controller` detached and records it in the network state; it counts as started once it accepts
 * its token; a second `up` leaves it alone; `down` stops exactly that process and forgets it.
 * Loopback only; no Docker needed.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { readControllerToken } from '../../src/core/controller-access.ts';
import { startControllerProcess, stopControllerProcess } from '../../src/core/up-controller.ts';
import { loadConfig } from '../../src/ecosystems/config.ts';
import { isAlive, readState, writeState, type NetworkState } from '../../src/net/state.ts';
import { CLI } from '../helpers/offline-cli.ts';
import { workDir } from '../helpers/work-dir.ts';
import { claimPorts } from '../helpers/ports.ts';

test('up --compose\'s controller process: started once, recorded, answering with its token; stopped and forgotten', async () => {
  const dir = await workDir('offline-controller-process-');
  const port = await claimPorts();
  await writeFile(join(dir, 'offline.yaml'), stringify({ data: './m', listen: '127.0.0.1', npm: {}, controller: { port } }));
  const config = await loadConfig(join(dir, 'offline.yaml'), {});
  // What `up` has written by the time the runtime starts.
  await writeState(config.data, { plan: {}, created: {}, stack: { project: 'offline', started: new Date().toISOString() } } as unknown as NetworkState);
  const cli = [process.execPath, CLI];
  const run = await startControllerProcess({ config, cli });
  try {
    assert.equal(run.problem, undefined, run.problem);
    assert.equal(run.url, `http://127.0.0.1:${port}/`);
    assert.equal((await readState(config.data))?.controller?.pid, run.pid);
    const token = await readControllerToken(config.data);
    const answer = await fetch(`${run.url}api/status`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(answer.status, 200);
    assert.equal(((await answer.json()) as { controller: { answering: boolean } }).controller.answering, true);
    assert.deepEqual(await startControllerProcess({ config, cli }), { url: run.url, pid: run.pid }, 'a second up leaves it alone');
  } finally {
    assert.equal(await stopControllerProcess(config.data), run.pid);
  }
  assert.equal(isAlive(run.pid), false);
  const state = await readState(config.data);
  assert.equal(state?.controller, undefined);
  assert.ok(state?.stack, 'the rest of the state is kept');
  assert.equal(await stopControllerProcess(config.data), undefined, 'stopping twice is harmless');
});

test('a controller that cannot start is a problem reported, not a failure: the mirrors serve without it', async () => {
  // Its port is taken by something that is not a controller (it accepts and hangs up).
  const squatter = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  const port = (squatter.address() as AddressInfo).port;
  try {
    const dir = await workDir('offline-controller-process-');
    await writeFile(join(dir, 'offline.yaml'), stringify({ data: './m', listen: '127.0.0.1', npm: {}, controller: { port } }));
    const config = await loadConfig(join(dir, 'offline.yaml'), {});
    await writeState(config.data, { plan: {}, created: {} } as unknown as NetworkState);
    const run = await startControllerProcess({ config, cli: [process.execPath, CLI] });
    assert.match(run.problem ?? '', new RegExp(`the controller did not start; the mirrors serve without it \\(.*offline-controller\\.log ends: .*127\\.0\\.0\\.1:${port}: the port is in use`));
    await stopControllerProcess(config.data);
  } finally {
    await new Promise((resolve) => squatter.close(resolve));
  }
});
