import {
  SwimFailureDetector,
  SwimNode,
  systemClock,
  systemRandom,
  type Logger,
  type MemberEvent,
  type MemberInfo,
  type NodeId,
  type SwimConfig,
  type SwimMembershipView,
} from '@synod/core';
import { bindUdpSocket, Keyring, lossySocket, UdpSwimTransport } from '@synod/swim-udp';
import { hostPort, readInputFile, UsageError } from './flags.js';
import { displayPhi, runSwim, type SwimBesideRaft } from './swim-beside-raft.js';

/** The metadata key under which a member gossips its Raft id: SWIM ids on the datagram path are addresses. */
export const RAFT_ID_META = 'raft';

/** The `synod serve` flags of SWIM's datagram path (parseArgs options). */
export const SWIM_UDP_FLAGS = {
  'swim-transport': { type: 'string' },
  'swim-listen': { type: 'string' },
  'swim-seeds': { type: 'string' },
  'swim-keyring': { type: 'string' },
  'swim-tcp-fallback': { type: 'string' },
  'inject-udp-loss': { type: 'string' },
} as const;

export const SWIM_UDP_FLAGS_HELP = `  --swim-transport T    where SWIM runs: peer (default; over the peer transport,
                        beside Raft) or udp (memberlist's datagram path: UDP
                        probes and gossip, TCP push-pull and fallback pings)
  --swim-listen H:P     with udp: this node's SWIM address, UDP and TCP (its SWIM id)
  --swim-seeds LIST     with udp: SWIM addresses to join through, 127.0.0.1:7946,…
                        (none: wait to be joined); retried until one answers
  --swim-keyring FILE   with udp: base64 32-byte AES-256-GCM keys, one a line; the
                        first seals, all open. SIGHUP reads the file again, so
                        keys rotate without a restart: add the new key second on
                        every node (and SIGHUP it), then move it first, then drop
                        the old one
  --swim-tcp-fallback on|off
                        with udp: when a direct ping gets no ack by UDP within
                        half the probe timeout, also ping over TCP (default on;
                        off only to see what it saves)`;

export const SWIM_UDP_FAULT_HELP = `  --inject-udp-loss RATE
                        drop this fraction (0 to 1) of the SWIM datagrams this
                        node sends and of those it receives (the TCP fallback
                        ping is what keeps such a member from being declared dead)`;

type SwimUdpValues = { readonly [K in keyof typeof SWIM_UDP_FLAGS]?: string | undefined };

/** The datagram path's settings from the flags. */
export interface SwimUdpSettings {
  readonly listen: string;
  readonly seeds: readonly string[];
  /** Keys from `--swim-keyring`, primary first; undefined: messages in the clear. */
  readonly keys: readonly Buffer[] | undefined;
  /** The keyring file, read again on SIGHUP. */
  readonly keyringFile?: string;
  /** Repeat unanswered direct pings over TCP (`--swim-tcp-fallback`, default on). */
  readonly tcpFallback: boolean;
  /** Fraction of datagrams dropped each way (`--inject-udp-loss`); 0 normally. */
  readonly udpLossRate: number;
}

/**
 * Reads the datagram-path flags. Returns undefined for `--swim-transport
 * peer` (the default).
 * @throws UsageError for a bad value or a flag that needs `--swim-transport udp`;
 *   MissingInputError when the keyring file cannot be read.
 */
export function swimUdpSettings(values: SwimUdpValues, swimEnabled: boolean): SwimUdpSettings | undefined {
  const transport = values['swim-transport'] ?? 'peer';
  if (transport !== 'peer' && transport !== 'udp') throw new UsageError(`--swim-transport must be peer or udp, got '${transport}'`);
  if (transport === 'peer') {
    const given = (['swim-listen', 'swim-seeds', 'swim-keyring', 'swim-tcp-fallback', 'inject-udp-loss'] as const).find((flag) => values[flag] !== undefined);
    if (given !== undefined) throw new UsageError(`--${given} needs --swim-transport udp`);
    return undefined;
  }
  if (!swimEnabled) throw new UsageError('--swim-transport udp needs SWIM on (--swim lan, wan or local)');
  if (values['swim-listen'] === undefined || values['swim-listen'] === '') {
    throw new UsageError('--swim-listen is required with --swim-transport udp (host:port for UDP and TCP)');
  }
  const listen = hostPort(values['swim-listen'], '--swim-listen');
  const seeds = values['swim-seeds'] === undefined || values['swim-seeds'] === '' ? [] : values['swim-seeds'].split(',').map((seed) => hostPort(seed, '--swim-seeds'));
  if (seeds.includes(listen)) throw new UsageError(`--swim-seeds must not list this node's own --swim-listen ${listen}`);
  if (new Set(seeds).size !== seeds.length) throw new UsageError('--swim-seeds lists an address twice');
  const loss = values['inject-udp-loss'];
  const udpLossRate = loss === undefined ? 0 : Number(loss);
  if (loss !== undefined && (loss.trim() === '' || !Number.isFinite(udpLossRate) || udpLossRate < 0 || udpLossRate >= 1)) {
    throw new UsageError(`--inject-udp-loss must be a fraction from 0 to below 1, got '${loss}'`);
  }
  const fallback = values['swim-tcp-fallback'] ?? 'on';
  if (fallback !== 'on' && fallback !== 'off') throw new UsageError(`--swim-tcp-fallback must be on or off, got '${fallback}'`);
  const common = { listen, seeds, tcpFallback: fallback === 'on', udpLossRate };
  const keyringFile = values['swim-keyring'];
  if (keyringFile === undefined) return { ...common, keys: undefined };
  return { ...common, keys: readKeyringFile(keyringFile), keyringFile };
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Keys of a keyring file: one base64-encoded 32-byte key a line, the first
 * the primary; blank lines and `#` comments are skipped.
 * @throws UsageError naming the line of a key that is not base64 or not 32 bytes, or for a file without keys.
 */
export function readKeyringFile(path: string): Buffer[] {
  const lines = readInputFile(path, '--swim-keyring').toString('utf8').split(/\r?\n/);
  const keys: Buffer[] = [];
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const key = BASE64.test(line) ? Buffer.from(line, 'base64') : undefined;
    if (key === undefined || key.length !== 32) {
      throw new UsageError(`--swim-keyring ${path}: line ${index + 1} is not a base64-encoded 32-byte key (generate one with: openssl rand -base64 32)`);
    }
    keys.push(key);
  });
  if (keys.length === 0) throw new UsageError(`--swim-keyring ${path} holds no key`);
  return keys;
}

/**
 * SWIM's view with members named by the Raft id they gossip in their
 * metadata, so that a {@link SwimFailureDetector} over it answers for the
 * Raft node's peers. Members without one (another application on the same
 * SWIM cluster) are left out. When an address changed, the live entry wins.
 */
export function raftIdView(swim: Pick<SwimNode, 'members' | 'member' | 'on'>): SwimMembershipView & { raftIdOf(swimId: NodeId): NodeId | undefined } {
  const renamed = (member: MemberInfo): MemberInfo | undefined => {
    const raftId = member.meta[RAFT_ID_META];
    return raftId === undefined ? undefined : { ...member, id: raftId };
  };
  return {
    member(raftId) {
      let found: MemberInfo | undefined;
      for (const member of swim.members()) {
        if (member.meta[RAFT_ID_META] !== raftId) continue;
        if (found === undefined || ((found.state === 'dead' || found.state === 'left') && (member.state === 'alive' || member.state === 'suspect'))) found = member;
      }
      return found === undefined ? undefined : renamed(found);
    },
    on(type, listener) {
      return swim.on(type, (event: MemberEvent) => {
        const member = renamed(event.member);
        if (member !== undefined) listener({ ...event, member });
      });
    },
    raftIdOf(swimId) {
      return swim.member(swimId)?.meta[RAFT_ID_META];
    },
  };
}

/**
 * Runs SWIM over its own datagram path (`@synod/swim-udp`) next to a Raft
 * node: UDP and TCP on `settings.listen`, joining through address seeds, with
 * this node's Raft id gossiped as metadata. The returned detector answers by
 * Raft id, so it can be the Raft node's `failureDetector`, and the view and
 * the log name members by Raft id too (`swim: n3 is dead address=…`).
 * Messages no key opens are logged once per sender at warn.
 *
 * Starts before the Raft server (its detector goes into the server's
 * options); it does not need the server at all.
 *
 * @throws the bind error when the address is taken.
 *
 * @example
 * ```ts
 * const swim = await startSwimOverUdp({ raftId: 'n1', clusterId: 'synod', config, logger,
 *   settings: { listen: '127.0.0.1:7946', seeds: ['127.0.0.1:7947'], keys: [key], tcpFallback: true, udpLossRate: 0 } });
 * const server = createSynodServer({ ..., failureDetector: swim.detector });
 * ```
 */
export async function startSwimOverUdp(options: {
  readonly raftId: NodeId;
  readonly clusterId: string;
  readonly settings: SwimUdpSettings;
  readonly config: SwimConfig;
  readonly logger: Logger;
  /** The cluster's expected size, for the logged detection bound. */
  readonly memberCount: number;
  /** Where SIGHUP (reload the keyring file) comes from. @default process */
  readonly signals?: NodeJS.EventEmitter;
}): Promise<SwimBesideRaft & { readonly transport: UdpSwimTransport; readonly keyring: Keyring | undefined }> {
  const { settings, config, logger, clusterId } = options;
  const colon = settings.listen.lastIndexOf(':');
  const host = settings.listen.slice(0, colon).replace(/^\[|\]$/g, '');
  const socket =
    settings.udpLossRate > 0
      ? lossySocket(await bindUdpSocket(host, Number(settings.listen.slice(colon + 1))), { dropRate: settings.udpLossRate, random: systemRandom })
      : undefined;
  if (socket !== undefined) logger.warn({ rate: settings.udpLossRate }, 'swim: --inject-udp-loss drops SWIM datagrams on purpose (testing only)');
  if (settings.keys === undefined) logger.warn({}, 'swim: no --swim-keyring: SWIM datagrams travel in the clear and unauthenticated');
  const keyring = settings.keys === undefined ? undefined : new Keyring(settings.keys);
  const transport = await UdpSwimTransport.start({
    listen: settings.listen,
    clusterId,
    ...(keyring === undefined ? {} : { keyring }),
    ...(socket === undefined ? {} : { socket }),
    // Half the probe timeout (100 ms at most) leaves the TCP ping time to come back before the probe fails.
    tcpFallbackAfterMs: settings.tcpFallback ? Math.max(1, Math.min(100, Math.floor(config.probeTimeoutMs / 2))) : false,
    logger,
  });
  const swim = new SwimNode({ transport, clock: systemClock, random: systemRandom, clusterId, config, meta: { [RAFT_ID_META]: options.raftId } });
  const view = raftIdView(swim);
  const detector = new SwimFailureDetector({ swim: view, phi: displayPhi(config) });
  transport.setHandler((envelope) => {
    // Phi is keyed by Raft id, like the detector's verdicts.
    detector.heartbeat(view.raftIdOf(envelope.from) ?? envelope.from, systemClock.now());
    swim.handleEnvelope(envelope);
  });
  // Key rotation without a restart: edit the file on every member, then SIGHUP each (see the README).
  const signals = options.signals ?? process;
  const reloadKeyring = (): void => {
    if (keyring === undefined || settings.keyringFile === undefined) return;
    try {
      const keys = readKeyringFile(settings.keyringFile);
      keyring.replace(keys);
      logger.info({ keys: keys.length }, `swim: keyring reloaded from ${settings.keyringFile}`);
    } catch (error) {
      logger.error({ error: error instanceof Error ? error.message : String(error) }, 'swim: keyring not reloaded; the previous keys stay in use');
    }
  };
  if (keyring !== undefined) signals.on('SIGHUP', reloadKeyring);
  const running = runSwim({
    swim,
    detector,
    config,
    logger,
    seeds: settings.seeds,
    memberCount: options.memberCount,
    nameOf: (member) => member.meta[RAFT_ID_META] ?? member.id,
    fieldsOf: (member) => ({ address: member.id }),
    onStop: async () => {
      signals.off('SIGHUP', reloadKeyring);
      // What the datagram path did, for operators and the process tests (fallback pings, rejected messages, injected loss).
      logger.info({ ...transport.stats, ...(socket === undefined ? {} : { injectedDrops: socket.stats.dropped + socket.stats.droppedOnReceive }) }, 'swim: datagram path stats');
      await transport.close();
    },
  });
  logger.info({ address: transport.localId, seeds: settings.seeds.join(',') || 'none', encrypted: settings.keys !== undefined }, 'swim: datagram path listening');
  return { ...running, transport, keyring };
}
