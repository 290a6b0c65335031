/**
 * A pretend machine for the networking unit tests: just enough of `iptables`, `ip` and `docker`
 * to run `wire`/`unwire`/`preflight` without root, recording every command, and in `changes` the
 * ones after which its state differed. It models state, so idempotence is tested as behaviour,
 * not as a list of expected calls.
 */
import type { CommandResult, Runner } from '../../src/net/runner.ts';

export type FakeNetwork = { name: string; subnet: string; gateway: string; bridge?: string; internal: boolean; aux: string[]; containers: string[]; labels?: Record<string, string> };

export type FakeSystem = {
  run: Runner;
  calls: string[][];
  /** The calls that changed the machine's state (links, networks, chains, routes). */
  changes: string[][];
  chains: Map<string, string[]>;
  links: Map<string, { kind: string; master?: string; addrs: string[]; up: boolean; alias?: string }>;
  networks: Map<string, FakeNetwork>;
  routes: Array<{ prefix: string; dev: string }>;
  dummy: boolean;
  docker: boolean;
};

const ok = (stdout = ''): CommandResult => ({ code: 0, stdout, stderr: '' });
const fail = (stderr: string): CommandResult => ({ code: 1, stdout: '', stderr });

export function fakeSystem(opts: { dummy?: boolean; docker?: boolean } = {}): FakeSystem {
  const sys: FakeSystem = {
    calls: [], changes: [], chains: new Map([['INPUT', []]]), links: new Map(), networks: new Map(),
    routes: [{ prefix: 'default', dev: 'eth0' }, { prefix: '192.168.5.0/24', dev: 'eth0' }],
    dummy: opts.dummy ?? false, docker: opts.docker ?? true,
    run: async (argv) => {
      sys.calls.push(argv);
      const before = machineState(sys);
      const result = answer(sys, argv);
      if (machineState(sys) !== before) sys.changes.push(argv);
      return result;
    },
  };
  return sys;
}

/** Everything the pretend machine holds, as one string: equal strings, equal machines. */
export function machineState(sys: FakeSystem): string {
  return JSON.stringify({ chains: [...sys.chains], links: [...sys.links], networks: [...sys.networks], routes: sys.routes });
}

function answer(sys: FakeSystem, argv: string[]): CommandResult {
  if (argv[0] === 'iptables') return iptables(sys, argv.slice(4), argv[4] === undefined ? '' : argv[4]);
  if (argv[0] === 'ip') return ip(sys, argv.slice(1));
  if (argv[0] === 'docker') return docker(sys, argv.slice(1));
  return fail(`unknown command ${argv[0]}`);
}

function iptables(sys: FakeSystem, args: string[], _action: string): CommandResult {
  const [action, chain = '', ...spec] = args;
  const rules = sys.chains.get(chain);
  const line = spec.join(' ');
  switch (action) {
    case '-S': return rules ? ok([`-N ${chain}`, ...rules.map((r) => `-A ${chain} ${r}`)].join('\n')) : fail('No chain/target/match by that name.');
    case '-N': if (rules) return fail('Chain already exists.'); sys.chains.set(chain, []); return ok();
    case '-F': if (!rules) return fail('No chain'); rules.length = 0; return ok();
    case '-X': if (!rules || rules.length > 0 || [...sys.chains.values()].some((r) => r.some((x) => x.endsWith(`-j ${chain}`)))) return fail('busy'); sys.chains.delete(chain); return ok();
    case '-C': return rules?.includes(line) ? ok() : fail('Bad rule');
    case '-A': if (!rules) return fail('No chain'); rules.push(line); return ok();
    case '-I': if (!rules) return fail('No chain'); rules.unshift(line); return ok();
    case '-D': { if (!rules?.includes(line)) return fail('Bad rule'); rules.splice(rules.indexOf(line), 1); return ok(); }
    default: return fail(`unsupported ${action}`);
  }
}

function ip(sys: FakeSystem, args: string[]): CommandResult {
  const a = args.join(' ');
  let m: RegExpExecArray | null;
  if ((m = /^link add (\S+) type (dummy|veth)(?: peer name (\S+))?$/.exec(a))) {
    if (m[2] === 'dummy' && !sys.dummy) return fail('Error: Unknown device type.');
    sys.links.set(m[1]!, { kind: m[2]!, addrs: [], up: false });
    if (m[3]) sys.links.set(m[3], { kind: 'veth', addrs: [], up: false });
    return ok();
  }
  if ((m = /^(?:-o |-d -o )?link show dev (\S+)$/.exec(a))) {
    const l = sys.links.get(m[1]!);
    return l ? ok(`8: ${m[1]}: <BROADCAST${l.up ? ',UP,LOWER_UP' : ''}> mtu 1500 ${l.master ? `master ${l.master} ` : ''}state ${l.up ? 'UP' : 'DOWN'} ${l.kind}${l.alias ? `\\    alias ${l.alias}` : ''}`) : fail('Device does not exist.');
  }
  if ((m = /^link set dev (\S+) alias (\S+)$/.exec(a))) { const l = sys.links.get(m[1]!); if (!l) return fail('no device'); l.alias = m[2]!; return ok(); }
  if ((m = /^-o -4 addr show dev (\S+)$/.exec(a))) return ok((sys.links.get(m[1]!)?.addrs ?? []).map((x) => `8: ${m![1]}    inet ${x} scope global`).join('\n'));
  if ((m = /^addr add (\S+) dev (\S+)$/.exec(a))) { sys.links.get(m[2]!)!.addrs.push(m[1]!); return ok(); }
  if ((m = /^link set dev (\S+) master (\S+)$/.exec(a))) { sys.links.get(m[1]!)!.master = m[2]!; return ok(); }
  if ((m = /^link set dev (\S+) up$/.exec(a))) { const l = sys.links.get(m[1]!); if (!l) return fail('no device'); l.up = true; return ok(); }
  if ((m = /^link del dev (\S+)$/.exec(a))) { sys.links.delete(m[1]!); sys.links.delete(`${m[1]}p`); return ok(); }
  if ((m = /^-o route get (\S+)$/.exec(a))) {
    const net = [...sys.networks.values()].find((n) => n.subnet.split('.').slice(0, 3).join('.') === m![1]!.split('.').slice(0, 3).join('.'));
    return ok(`${m[1]} dev ${net ? net.bridge : 'eth0'} src 10.0.0.1`);
  }
  if (a === '-o -4 route show table main') {
    const docker = [...sys.networks.values()].map((n) => ({ prefix: n.subnet, dev: n.bridge ?? 'br-x' }));
    return ok([...sys.routes, ...docker].map((r) => `${r.prefix} dev ${r.dev} proto kernel`).join('\n'));
  }
  return fail(`unsupported ip ${a}`);
}

function docker(sys: FakeSystem, args: string[]): CommandResult {
  if (!sys.docker) return fail('Cannot connect to the Docker daemon');
  const a = args.join(' ');
  if (args[0] === 'info') return ok('26.1.5');
  if (a === 'network ls -q') return ok([...sys.networks.keys()].join('\n'));
  if (args[0] === 'network' && args[1] === 'inspect') {
    const found = args.slice(2).map((n) => sys.networks.get(n));
    if (found.some((n) => !n)) return fail('No such network');
    return ok(JSON.stringify(found.map((n) => ({
      Name: n!.name, Internal: n!.internal,
      IPAM: { Config: [{ Subnet: n!.subnet, Gateway: n!.gateway, AuxiliaryAddresses: Object.fromEntries(n!.aux.map((x, i) => [`a${i}`, x])) }] },
      Options: n!.bridge ? { 'com.docker.network.bridge.name': n!.bridge } : {},
      Containers: Object.fromEntries(n!.containers.map((c, i) => [`c${i}`, { IPv4Address: `${c}/24` }])),
      Labels: n!.labels ?? {},
    }))));
  }
  if (args[0] === 'network' && args[1] === 'create') {
    const name = args.at(-1)!;
    const opt = (flag: string) => args[args.indexOf(flag) + 1]!;
    sys.networks.set(name, {
      name, subnet: opt('--subnet'), gateway: opt('--gateway'), internal: args.includes('--internal'),
      bridge: opt('--opt').split('=')[1], aux: [opt('--aux-address').split('=')[1]!], containers: [],
      labels: Object.fromEntries(args.flatMap((x, i) => (args[i - 1] === '--label' ? [x.split('=') as [string, string]] : []))),
    });
    return ok('id');
  }
  if (args[0] === 'network' && args[1] === 'rm') { sys.networks.delete(args[2]!); return ok(); }
  return fail(`unsupported docker ${a}`);
}
