import { contains, parseCidr, parseIp, type Cidr } from './cidr.ts';
import { dockerRunning } from './docker.ts';
import type { CommandResult, Runner } from './runner.ts';

/** The dry runner, the commands it recorded (in order) and its notes (assumptions, findings). */
export type DryRun = { run: Runner; commands: string[][]; notes: string[] };

export type DryRunOptions = {
  /** Whether iptables may be read: it needs root, and is not run at all without it. */
  root: boolean;
  /** Whether the kernel has the dummy link type (`kernelHasDummy`); undefined: assumed, and noted. */
  dummy: boolean | undefined;
};

const ok = (stdout = ''): CommandResult => ({ code: 0, stdout, stderr: '' });
const fail = (stderr: string): CommandResult => ({ code: 1, stdout: '', stderr });

/** Flags a read-only `ip` query may carry; any other (`-n`, `-b`, `-force` …) makes it a change. */
const IP_FLAGS = new Set(['-o', '-4', '-d']);

/**
 * True for the commands a dry run may run: `docker info`, `docker network ls|inspect`,
 * `ip [-o -4 -d] link|addr|route show` and `ip route get`, `iptables --wait -t T -C|-S`. Anything
 * else, including any command added to `wire` later, is taken for a change and only recorded.
 */
export function isQuery(argv: readonly string[]): boolean {
  const [tool, ...args] = argv;
  if (tool === 'docker') return args[0] === 'info' || (args[0] === 'network' && (args[1] === 'ls' || args[1] === 'inspect'));
  if (tool === 'iptables') return args[0] === '--wait' && args[1] === '-t' && (args[3] === '-C' || args[3] === '-S');
  if (tool !== 'ip') return false;
  const words = args.slice(args.findIndex((a) => !IP_FLAGS.has(a)));
  const [object = '', verb] = words;
  if (words.some((w) => w.startsWith('-'))) return false;
  return ['link', 'addr', 'route'].includes(object) && (verb === 'show' || (object === 'route' && verb === 'get'));
}

/**
 * A runner for `offline up --dry-run` (docs/adr/0011): `up` runs its own checks and `wire` against
 * it, so what is printed is what `wire` would run here, now. Read-only queries (`isQuery`) go to
 * the system; every other command is recorded in `commands`, never run, and answered as if it had
 * succeeded, and later queries see its effect (a link or network created in this run is there,
 * new). A query this user cannot make is answered as on a machine without offline's wiring, and a
 * note says so: iptables when not root, Docker when `docker info` fails. `ip link add … type
 * dummy` fails, unrecorded, where the kernel is known to have no dummy type, so `wire` falls back
 * to a veth pair as it would for real.
 */
export async function dryRunner(ask: Runner, options: DryRunOptions): Promise<DryRun> {
  const commands: string[][] = [];
  const notes: string[] = [];
  const docker = await dockerRunning(ask);
  if (!options.root) notes.push('not root: iptables was not read (it needs root), so the firewall commands are those for a machine without offline\'s chain and INPUT jump; offline up itself needs root');
  if (!docker) notes.push('Docker did not answer `docker info`: the Docker commands are those for a machine without the network; offline up needs Docker running');
  const links = new Map<string, string>();
  const networks: Array<{ subnet: Cidr; bridge: string }> = [];

  /** Answers for what this run has created so far; undefined when the query is about something else. */
  function created(argv: string[]): CommandResult | undefined {
    if (argv[0] !== 'ip') return undefined;
    const dev = argv.includes('dev') ? argv[argv.indexOf('dev') + 1] ?? '' : '';
    const kind = links.get(dev);
    if (kind && argv.includes('addr')) return ok();
    if (kind) return ok(`0: ${dev}: <BROADCAST,NOARP> mtu 1500 state DOWN ${kind}`);
    const get = argv.indexOf('get');
    const address = get >= 0 ? parseIp(argv[get + 1] ?? '') : undefined;
    const net = address === undefined ? undefined : networks.find((n) => contains(n.subnet, address));
    return net ? ok(`${argv[get + 1]} dev ${net.bridge}`) : undefined;
  }

  /** Queries this user cannot make, answered as on a machine where none of offline's wiring exists. */
  function absent(argv: string[]): CommandResult {
    if (argv[0] === 'iptables') return fail('iptables: No chain/target/match by that name.');
    if (argv[1] === 'info') return ok();
    if (argv[2] === 'ls') return ok();
    return fail('Error: No such network');
  }

  function record(argv: string[]): CommandResult {
    const add = /^ip link add (\S+) type (dummy|veth)(?: peer name (\S+))?$/.exec(argv.join(' '));
    if (add?.[2] === 'dummy' && options.dummy === false) {
      notes.push(`this kernel has no dummy link type (its build config says so): offline up makes ${add[1]} a veth pair whose peer stays unused`);
      return fail('Error: Unknown device type.');
    }
    if (add?.[2] === 'dummy' && options.dummy === undefined) {
      notes.push(`could not tell whether this kernel has the dummy link type (no /sys/module/dummy, no readable kernel config): shown as a dummy; where it has none, offline up makes ${add[1]} a veth pair instead, its peer up and unused`);
    }
    if (add) for (const name of [add[1]!, add[3]].filter((n) => n !== undefined)) links.set(name, add[2]!);
    if (argv[0] === 'docker' && argv[1] === 'network' && argv[2] === 'create') {
      const subnet = parseCidr(argv[argv.indexOf('--subnet') + 1] ?? '');
      const bridge = argv.find((a) => a.startsWith('com.docker.network.bridge.name='))?.split('=')[1];
      if (subnet && bridge) networks.push({ subnet, bridge });
    }
    commands.push(argv);
    return ok();
  }

  const readable = (tool: string | undefined) => (tool === 'iptables' ? options.root : tool === 'docker' ? docker : true);
  const run: Runner = async (argv) => {
    if (!isQuery(argv)) return record(argv);
    return created(argv) ?? (readable(argv[0]) ? ask(argv) : absent(argv));
  };
  return { run, commands, notes };
}
