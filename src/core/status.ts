import { answers } from '../foundation/listen.ts';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { MIRRORS, mirrorPorts, servedMirrors } from '../ecosystems/index.ts';
import type { MirrorStatus } from '../ecosystems/types.ts';
import type { Config } from '../ecosystems/config.ts';
import { networkStatus, type NetworkStatus } from './network-status.ts';
import { readSyncRecord } from '../engine/sync-record.ts';
import { readState } from '../net/state.ts';
import { stackServices, type StackService } from './stack.ts';
import { createRunner } from '../net/runner.ts';
import { controllerTokenFile, controllerUrl } from './controller-access.ts';

export type StatusReport = {
  config: string;
  data: string;
  listen: string;
  /** Whether the listen address is on this machine (it is not until `offline up`). */
  listenAddressPresent: boolean;
  mirrors: Array<MirrorStatus & { port: number; lastSync: string | undefined; serving: boolean | undefined }>;
  /** Mirrors the config has no section for: not served, not listed (`--all` lists them). */
  unconfigured: string[];
  /** Undefined when the network tools (ip, docker) cannot be run here. */
  network: NetworkStatus | undefined;
  /** The compose stack `up --compose` started: each service's state and health. */
  stack?: StackService[];
  /**
   * The controller (status page and API): its URL without the token, which stays in `tokenFile`
   * (this report is also the API's answer and goes into scripts' logs); `answering` is undefined
   * when its address is not on this machine.
   */
  controller: { url: string; answering: boolean | undefined; tokenFile: string };
};

/**
 * What is mirrored and what is serving. Ports are probed only when the listen address is on this
 * machine: probing an address that is not would send traffic onto the network.
 */
export async function status(config: Config): Promise<StatusReport> {
  const present = isLocalAddress(config.listen);
  const mirrors = await Promise.all(servedMirrors(config).map(async (mirror) => {
    const port = mirror.port(config);
    const dir = join(config.data, mirror.name);
    const s = await mirror.status(config, dir);
    return { ...s, port, lastSync: (await readSyncRecord(dir))?.lastSync, serving: present ? await answers(config.listen, port) : undefined };
  }));
  // A status is a glance: tools that do not answer within seconds count as unknown.
  const glance = createRunner(10_000);
  const network = await networkStatus(config, glance, mirrorPorts(config)).catch(() => undefined);
  const stack = (await readState(config.data))?.stack ? await stackServices(config, glance).catch(() => []) : undefined;
  const unconfigured = MIRRORS.filter((m) => !config.mirrors.includes(m.name)).map((m) => m.name);
  const controller = {
    url: controllerUrl(config),
    answering: isLocalAddress(config.controller.listen) ? await answers(config.controller.listen, config.controller.port) : undefined,
    tokenFile: controllerTokenFile(config.data),
  };
  return { config: config.file, data: config.data, listen: config.listen, listenAddressPresent: present, mirrors, unconfigured, network, ...(stack ? { stack } : {}), controller };
}

export function isLocalAddress(address: string): boolean {
  if (address === '0.0.0.0' || address === '::' || address === 'localhost' || address.startsWith('127.')) return true;
  return Object.values(networkInterfaces()).some((list) => list?.some((i) => i.address === address));
}
