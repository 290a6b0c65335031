import { pageUrl, readControllerToken } from '../core/controller-access.ts';
import { status, type StatusReport } from '../core/status.ts';
import { EXIT, loadFromOptions, type CommonOptions } from './common.ts';
import { formatBytes } from './format.ts';

export async function runStatus(opts: CommonOptions): Promise<number> {
  const config = await loadFromOptions(opts, { requireInputs: false });
  const report = await status(config);
  process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report) + formatController(report, await readControllerToken(config.data)));
  return EXIT.ok;
}

/** The status page's URL with its token, for the browser (the JSON report leaves the token in its file). */
function formatController(r: StatusReport, token: string | undefined): string {
  const c = r.controller;
  const answering = c.answering === undefined ? '' : c.answering ? ' (answering)' : ' (not answering: offline serve and offline up start it)';
  if (token) return `controller: ${pageUrl(c.url, token)}${answering}\n`;
  return `controller: ${c.url}${answering}; its token is in ${c.tokenFile}, which this user cannot read (or which the first offline serve makes)\n`;
}

function formatStatus(r: StatusReport): string {
  const lines = [`config: ${r.config}`, `data:   ${r.data}`, `listen: ${r.listen}${r.listenAddressPresent ? '' : ' (not on this machine yet: `offline up` creates it)'}`];
  for (const m of r.mirrors) {
    const counts = Object.entries(m.counts).map(([k, v]) => `${k === 'bytes' ? formatBytes(v) : v} ${k === 'bytes' ? '' : k}`.trim()).join(', ');
    const serving = m.serving === undefined ? 'not serving' : m.serving ? `serving on ${r.listen}:${m.port}` : `not serving on port ${m.port}`;
    lines.push(`${m.name}: ${counts}; last sync ${m.lastSync ?? 'never'}; ${serving}`);
  }
  if (r.unconfigured.length > 0) lines.push(`not configured: ${r.unconfigured.join(', ')} (add a section to ${r.config} to mirror them; --all lists them)`);
  const n = r.network;
  if (!n) return `${[...lines, 'network: unknown (ip or docker cannot be run here)'].join('\n')}\n`;
  lines.push(`network: ${n.up ? 'up' : 'down'}; interface ${n.interface.name} ${n.interface.exists ? `(${n.interface.addresses.join(', ') || 'no address'}${n.interface.master ? `, on ${n.interface.master}` : ''})` : 'absent'}; ` +
    `bridge ${n.bridge.name} ${n.bridge.exists ? 'present' : 'absent'}; Docker network ${n.dockerNetwork.name} ${n.dockerNetwork.exists === undefined ? 'unknown (Docker not reachable)' : n.dockerNetwork.exists ? 'present' : 'absent'}`);
  if (n.rules === undefined) lines.push('firewall: run as root to read the rules');
  else lines.push(`firewall: ${n.rules.length} rule(s) in our chain, INPUT jump ${n.jump ? 'present' : 'absent'}${n.rules.map((x) => `\n  ${x}`).join('')}`);
  if (n.mirrors) lines.push(`mirrors process: pid ${n.mirrors.pid}, ${n.mirrors.running ? 'running' : 'not running'}`);
  if (r.stack) {
    lines.push(`compose stack (project offline): ${r.stack.length === 0 ? 'no containers' : r.stack.map((s) => `${s.service} ${s.state}${s.health === 'none' ? '' : ` (${s.health})`}`).join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}
