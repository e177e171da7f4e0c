import { run, runQuietlySync } from './shell.js';

/** One node's place in the lab: its namespace and the address peers and clients reach it at. */
export interface LabHost {
  readonly id: string;
  readonly namespace: string;
  readonly address: string;
}

/** Options of {@link NetworkLab.create}. */
export interface NetworkLabOptions {
  /** Node ids, one namespace each. */
  readonly ids: readonly string[];
}

/** What the lab can do on this machine's kernel. */
export interface LabCapabilities {
  /** nftables: partitions, one-way links and packet loss. */
  readonly nftables: boolean;
  /** `tc netem`: delay and jitter (many minimal kernels lack `sch_netem`). */
  readonly netem: boolean;
}

/** Delay, jitter and loss on one host's link, as netem and nftables apply them. */
export interface LinkImpairment {
  readonly delayMs?: number;
  readonly jitterMs?: number;
  /** Percent of outgoing packets dropped, 0–100. */
  readonly lossPercent?: number;
}

const NAME_PATTERN = /^syn(\d+)x(\d+)-/;
let labsInThisProcess = 0;

/**
 * A private network for a chaos run, made of Linux network namespaces:
 *
 * ```
 *   root ns ── veth ──┐
 *                      hub ns: bridge ── veth ── node ns n1 (10.a.b.1)
 *                                     ── veth ── node ns n2 (10.a.b.2) …
 * ```
 *
 * Every node runs in its own namespace with one address; the suite's
 * clients stay in the root namespace and reach every node over the bridge
 * (they are never partitioned: Jepsen's clients do not lose their node
 * either). Faults are per node:
 *
 * - partitions and one-way links drop packets on the receiving node's
 *   `input` hook (nftables), silently, as a cut cable would;
 * - loss drops a share of a node's outgoing packets (nftables `numgen`);
 * - delay and jitter use `tc netem` on the node's interface when the kernel
 *   has it ({@link LabCapabilities.netem}).
 *
 * Names carry the creating process id (`syn<pid>x<k>-…`), so parallel runs do
 * not collide and {@link NetworkLab.sweepStale} can remove what a killed run
 * left behind. {@link NetworkLab.destroy} removes everything; it also runs
 * from a process `exit` hook as a last resort.
 *
 * Needs root and iproute2; partitions and loss need `nft` (Debian package
 * nftables).
 *
 * @example
 * ```ts
 * const lab = await NetworkLab.create({ ids: ['n1', 'n2', 'n3'] });
 * try {
 *   await lab.partition([['n1'], ['n2', 'n3']]);
 *   // … n1 hears nobody and nobody hears n1 …
 *   await lab.heal();
 * } finally {
 *   await lab.destroy();
 * }
 * ```
 */
export class NetworkLab {
  readonly prefix: string;
  readonly hubNamespace: string;
  /** The root namespace's address on the lab network (where clients connect from). */
  readonly clientAddress: string;
  readonly hosts: ReadonlyMap<string, LabHost>;
  #capabilities: LabCapabilities;
  #destroyed = false;
  readonly #onExit = (): void => this.#destroySync();
  /** Receiving node → sources it drops. */
  readonly #blocked = new Map<string, Set<string>>();
  readonly #impaired = new Set<string>();

  private constructor(prefix: string, subnet: string, ids: readonly string[], capabilities: LabCapabilities) {
    this.prefix = prefix;
    this.hubNamespace = `${prefix}-hub`;
    this.clientAddress = `${subnet}.254`;
    this.hosts = new Map(ids.map((id, i) => [id, { id, namespace: `${prefix}-${id}`, address: `${subnet}.${i + 1}` }]));
    this.#capabilities = capabilities;
    process.once('exit', this.#onExit);
  }

  /**
   * Builds the namespaces, links and bridge. Throws (after removing what it
   * made) when the machine does not allow it: not root, no `ip`, no
   * namespaces.
   */
  static async create(options: NetworkLabOptions): Promise<NetworkLab> {
    if (options.ids.length === 0 || options.ids.length > 200) throw new RangeError('a lab holds 1 to 200 hosts');
    await NetworkLab.sweepStale();
    const prefix = `syn${process.pid}x${labsInThisProcess++}`;
    const subnet = await freeSubnet();
    const nftables = await run(['nft', '--version']).then(
      () => true,
      () => false,
    );
    // netem is probed once the namespaces exist (below).
    const lab = new NetworkLab(prefix, subnet, options.ids, { nftables, netem: false });
    try {
      await lab.#build();
      lab.#capabilities = { nftables, netem: await lab.#probeNetem() };
      return lab;
    } catch (error) {
      await lab.destroy();
      throw error;
    }
  }

  /**
   * Removes namespaces and links left by chaos runs whose process is gone
   * (killed before it could clean up).
   */
  static async sweepStale(): Promise<string[]> {
    const removed: string[] = [];
    const namespaces = (await run(['ip', 'netns', 'list']).catch(() => ''))
      .split('\n')
      .map((line) => line.split(' ')[0] ?? '')
      .filter((name) => NAME_PATTERN.test(name));
    for (const name of namespaces) {
      const pid = Number(NAME_PATTERN.exec(name)![1]);
      if (isAlive(pid)) continue;
      await run(['ip', 'netns', 'del', name]).catch(() => undefined);
      removed.push(name);
    }
    const links = (await run(['ip', '-o', 'link', 'show']).catch(() => ''))
      .split('\n')
      .map((line) => /^\d+: ([^:@]+)/.exec(line)?.[1] ?? '')
      .filter((name) => /^syn\d+x\d+h$/.test(name));
    for (const name of links) {
      const pid = Number(/^syn(\d+)x/.exec(name)![1]);
      if (isAlive(pid)) continue;
      await run(['ip', 'link', 'del', name]).catch(() => undefined);
      removed.push(name);
    }
    return removed;
  }

  /** What this kernel and these tools allow. */
  get capabilities(): LabCapabilities {
    return this.#capabilities;
  }

  /** The argv prefix that runs a command inside `id`'s namespace. */
  execPrefix(id: string): string[] {
    return ['ip', 'netns', 'exec', this.#host(id).namespace];
  }

  /** Drops every packet `from` sends to `to` (on arrival at `to`); `to` still reaches `from`. */
  async block(from: string, to: string): Promise<void> {
    this.#host(from);
    this.#requireNftables();
    let sources = this.#blocked.get(to);
    if (sources === undefined) this.#blocked.set(to, (sources = new Set()));
    if (sources.has(from)) return;
    sources.add(from);
    await this.#nft(to, `add rule inet synod_chaos input ip saddr ${this.#host(from).address} drop`);
  }

  /** Cuts the network into `groups`: nodes in different groups no longer hear each other. */
  async partition(groups: readonly (readonly string[])[]): Promise<void> {
    for (const [i, group] of groups.entries()) {
      for (const [j, other] of groups.entries()) {
        if (i === j) continue;
        for (const from of group) for (const to of other) await this.block(from, to);
      }
    }
  }

  /** Lets `id` talk only with `neighbours` (both ways); everything else it sends or receives between nodes is dropped. */
  async connectOnly(id: string, neighbours: readonly string[]): Promise<void> {
    for (const other of this.hosts.keys()) {
      if (other === id || neighbours.includes(other)) continue;
      await this.block(id, other);
      await this.block(other, id);
    }
  }

  /** Delay, jitter (netem) and loss (nftables) on `id`'s outgoing packets, replacing any before. */
  async impair(id: string, impairment: LinkImpairment): Promise<void> {
    const host = this.#host(id);
    const { delayMs = 0, jitterMs = 0, lossPercent = 0 } = impairment;
    if (delayMs > 0 || jitterMs > 0) {
      if (!this.capabilities.netem) throw new Error('this kernel has no tc netem (sch_netem); delay and jitter are unavailable');
      await run(['ip', 'netns', 'exec', host.namespace, 'tc', 'qdisc', 'replace', 'dev', 'eth0', 'root', 'netem', 'delay', `${delayMs}ms`, `${jitterMs}ms`]);
      this.#impaired.add(id);
    }
    if (lossPercent > 0) {
      this.#requireNftables();
      const percent = Math.min(100, Math.max(0, Math.round(lossPercent)));
      const rule = percent >= 100 ? 'drop' : `numgen random mod 100 < ${percent} drop`;
      await this.#nft(id, `flush chain inet synod_chaos output\nadd rule inet synod_chaos output ${rule}`);
      this.#impaired.add(id);
    }
  }

  /** Removes every partition, one-way block, delay and loss. */
  async heal(): Promise<void> {
    for (const id of this.#blocked.keys()) await this.#nft(id, 'flush chain inet synod_chaos input');
    this.#blocked.clear();
    for (const id of this.#impaired) {
      if (this.capabilities.nftables) await this.#nft(id, 'flush chain inet synod_chaos output');
      await run(['ip', 'netns', 'exec', this.#host(id).namespace, 'tc', 'qdisc', 'del', 'dev', 'eth0', 'root']).catch(() => undefined);
    }
    this.#impaired.clear();
  }

  /** Removes the namespaces (and with them every link and rule). Idempotent. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    process.off('exit', this.#onExit);
    for (const host of this.hosts.values()) await run(['ip', 'netns', 'del', host.namespace]).catch(() => undefined);
    await run(['ip', 'netns', 'del', this.hubNamespace]).catch(() => undefined);
    await run(['ip', 'link', 'del', `${this.prefix}h`]).catch(() => undefined);
  }

  #destroySync(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const host of this.hosts.values()) runQuietlySync(['ip', 'netns', 'del', host.namespace]);
    runQuietlySync(['ip', 'netns', 'del', this.hubNamespace]);
    runQuietlySync(['ip', 'link', 'del', `${this.prefix}h`]);
  }

  async #build(): Promise<void> {
    const hub = this.hubNamespace;
    const inHub = (...argv: string[]): Promise<string> => run(['ip', 'netns', 'exec', hub, ...argv]);
    await run(['ip', 'netns', 'add', hub]);
    await inHub('ip', 'link', 'set', 'lo', 'up');
    await inHub('ip', 'link', 'add', 'br0', 'type', 'bridge');
    await inHub('ip', 'link', 'set', 'br0', 'up');
    // The root namespace's link to the bridge, for the clients.
    const rootSide = `${this.prefix}h`;
    await run(['ip', 'link', 'add', rootSide, 'type', 'veth', 'peer', 'name', `${this.prefix}g`]);
    await run(['ip', 'link', 'set', `${this.prefix}g`, 'netns', hub]);
    await inHub('ip', 'link', 'set', `${this.prefix}g`, 'master', 'br0');
    await inHub('ip', 'link', 'set', `${this.prefix}g`, 'up');
    await run(['ip', 'addr', 'add', `${this.clientAddress}/24`, 'dev', rootSide]);
    await run(['ip', 'link', 'set', rootSide, 'up']);
    let n = 0;
    for (const host of this.hosts.values()) {
      const hubSide = `${this.prefix}a${n}`;
      const nodeSide = `${this.prefix}b${n}`;
      n++;
      await run(['ip', 'netns', 'add', host.namespace]);
      const inNode = (...argv: string[]): Promise<string> => run(['ip', 'netns', 'exec', host.namespace, ...argv]);
      await run(['ip', 'link', 'add', hubSide, 'type', 'veth', 'peer', 'name', nodeSide]);
      await run(['ip', 'link', 'set', hubSide, 'netns', hub]);
      await inHub('ip', 'link', 'set', hubSide, 'master', 'br0');
      await inHub('ip', 'link', 'set', hubSide, 'up');
      await run(['ip', 'link', 'set', nodeSide, 'netns', host.namespace]);
      await inNode('ip', 'link', 'set', nodeSide, 'name', 'eth0');
      await inNode('ip', 'addr', 'add', `${host.address}/24`, 'dev', 'eth0');
      await inNode('ip', 'link', 'set', 'eth0', 'up');
      await inNode('ip', 'link', 'set', 'lo', 'up');
      if (this.capabilities.nftables) {
        await run(
          ['ip', 'netns', 'exec', host.namespace, 'nft', '-f', '-'],
          [
            'table inet synod_chaos {',
            '  chain input { type filter hook input priority 0; policy accept; }',
            '  chain output { type filter hook output priority 0; policy accept; }',
            '}',
          ].join('\n'),
        );
      }
    }
  }

  async #probeNetem(): Promise<boolean> {
    const first = this.hosts.values().next().value as LabHost;
    const inNode = ['ip', 'netns', 'exec', first.namespace, 'tc', 'qdisc'];
    try {
      await run([...inNode, 'add', 'dev', 'eth0', 'root', 'netem', 'delay', '1ms']);
      await run([...inNode, 'del', 'dev', 'eth0', 'root']);
      return true;
    } catch {
      return false;
    }
  }

  #nft(id: string, commands: string): Promise<string> {
    return run(['ip', 'netns', 'exec', this.#host(id).namespace, 'nft', '-f', '-'], `${commands}\n`);
  }

  #requireNftables(): void {
    if (!this.capabilities.nftables) throw new Error("nft is not installed (Debian package 'nftables'); partitions and loss are unavailable");
  }

  #host(id: string): LabHost {
    const host = this.hosts.get(id);
    if (host === undefined) throw new RangeError(`no host '${id}' in this lab`);
    return host;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A 10.a.b.0/24 no interface of the root namespace uses, picked from the process id. */
async function freeSubnet(): Promise<string> {
  const used = await run(['ip', '-o', '-4', 'addr', 'show']).catch(() => '');
  const start = (process.pid * 7 + labsInThisProcess * 131) % 25_000;
  for (let i = 0; i < 25_000; i++) {
    const n = (start + i) % 25_000;
    const subnet = `10.${150 + Math.floor(n / 250)}.${n % 250}`;
    if (!used.includes(` ${subnet}.`)) return subnet;
  }
  throw new Error('no free 10.x.y.0/24 subnet for the chaos network');
}
