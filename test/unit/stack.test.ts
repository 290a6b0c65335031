/**
 * The compose runtime's commands on a fake Docker (the system test runs the real one): the image
 * is tagged by what it is made of; without the image and without a way to build it, `up
 * --compose` says what to run while online; the stack starts only the configured mirrors'
 * services with the variables compose.yaml reads; `down` without a stack runs nothing.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseConfig, type Config } from '../../src/ecosystems/config.ts';
import { NetworkError } from '../../src/foundation/errors.ts';
import type { CommandResult } from '../../src/net/runner.ts';
import { stackEnvFile, stackImage, startStack, stopStack } from '../../src/core/stack.ts';
import { SERVING_NODE_FLAGS } from '../../src/core/up-process.ts';
import { workDir } from '../helpers/work-dir.ts';

let work: string;
let config: Config;

before(async () => {
  work = await workDir('offline-stack-unit-');
  await mkdir(join(work, 'mirrors'));
  config = await parseConfig('data: ./mirrors\nnpm: { port: 4873 }\npacman: { port: 8129 }\n', join(work, 'offline.yaml'), {}, { requireInputs: false });
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A fake `docker`: answers by the first words after `docker`, records every command. */
function fakeDocker(answers: Record<string, Partial<CommandResult>>): { run(argv: string[]): Promise<CommandResult>; commands: string[][] } {
  const commands: string[][] = [];
  return {
    commands,
    async run(argv) {
      commands.push(argv);
      const words = argv.join(' ');
      const key = Object.keys(answers).find((k) => words.includes(k));
      return { code: 0, stdout: '', stderr: '', ...(key ? answers[key] : {}) };
    },
  };
}

test('the image is tagged by a hash of what it copies, the same on every call', async () => {
  const tag = await stackImage();
  assert.match(tag, /^offline-mirror:[0-9a-f]{16}$/);
  assert.equal(await stackImage(), tag);
});

test('without the image and without a base to build it on, up --compose says what to run while online', async () => {
  const docker = fakeDocker({
    'image inspect': { code: 1, stderr: 'Error: No such image' },
    ' build ': { code: 1, stderr: 'pull access denied for node, repository does not exist or may require authorization' },
  });
  await assert.rejects(startStack({ config, address: '10.0.0.254', run: docker.run, uid: 65534 }), (err: unknown) => {
    assert.ok(err instanceof NetworkError);
    assert.match(err.message, /the stack's image offline-mirror:[0-9a-f]{16} is not in Docker and cannot be built here \(.*pull access denied/);
    assert.match(err.message, /while online, run `offline sync` with a `stack:` section in .*offline\.yaml/);
    assert.match(err.message, /stack\.base \/ OFFLINE_BASE_IMAGE/);
    return true;
  });
  assert.ok(!docker.commands.some((c) => c.includes('up')), 'no service is started without its image');
});

test('the stack starts the services of the configured mirrors only, with the variables compose.yaml reads', async () => {
  const docker = fakeDocker({});
  const services = await startStack({ config, address: '10.0.0.254', run: docker.run, uid: 65534 });
  assert.deepEqual(services, ['npm', 'pacman']);
  const up = docker.commands.find((c) => c.includes('up'))!;
  assert.deepEqual(up.slice(0, 4), ['docker', 'compose', '-p', 'offline']);
  assert.deepEqual(up.slice(up.indexOf('up')), ['up', '--detach', '--no-build', '--remove-orphans', 'npm', 'pacman']);
  const env = await readFile(stackEnvFile(config), 'utf8');
  for (const line of ['OFFLINE_ADDRESS="10.0.0.254"', 'OFFLINE_NPM_PORT="4873"', 'OFFLINE_PACMAN_PORT="8129"', 'OFFLINE_USER="65534"', `OFFLINE_DATA=${JSON.stringify(config.data)}`, `OFFLINE_IMAGE="${await stackImage()}"`]) {
    assert.ok(env.split('\n').includes(line), `${line} in ${env}`);
  }
});

test('down without a stack that offline started runs no compose command', async () => {
  await rm(stackEnvFile(config), { force: true });
  const docker = fakeDocker({});
  assert.equal(await stopStack(config, docker.run), false);
  assert.deepEqual(docker.commands, []);
});

test('the stack image runs serve with the node flags offline up runs it with', async () => {
  const dockerfile = await readFile(new URL('../../services/mirror/Dockerfile', import.meta.url), 'utf8');
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile);
  assert.ok(entrypoint, 'services/mirror/Dockerfile has an exec-form ENTRYPOINT');
  const argv = JSON.parse(entrypoint[1]!) as string[];
  assert.deepEqual(argv.slice(1, -1), SERVING_NODE_FLAGS);
  assert.match(argv.at(-1)!, /bin\/offline\.js$/);
});
