#!/usr/bin/env node
// One Synod node for the failover suite's detector-assisted variant: what
// `synod serve` runs (createSynodServer on FileStorage with fsync, 100 ms
// ticks, 10-tick elections, the same snapshot policy), plus a phi accrual
// detector for detector-assisted elections, which `synod serve` has no flag
// for. Arguments: ID LISTEN PEERS DATA, as `synod serve`'s --id --listen
// --peers --data; plaintext.
import { FileStorage, PhiAccrualDetector } from '@synod/core';
import { createSynodServer } from '@synod/transport-grpc';

const TICK_MS = 100;

async function main(): Promise<void> {
  const [id, listen, peerList, data] = process.argv.slice(2);
  if (id === undefined || listen === undefined || peerList === undefined || data === undefined) {
    throw new Error('usage: synod-detector-serve ID HOST:PORT ID=HOST:PORT,… DATA_DIR');
  }
  const peers = Object.fromEntries(peerList.split(',').map((entry) => entry.split('=') as [string, string]));
  const storage = await FileStorage.open(data);
  const server = createSynodServer({
    nodeId: id,
    clusterId: 'synod',
    listen,
    peers,
    security: { insecure: true },
    storage,
    tickIntervalMs: TICK_MS,
    snapshots: { entries: 10_000, retainEntries: 1_000 },
    // The settings of the virtual-time failover suite: heartbeats every tick,
    // phi 8 with a 20 ms deviation floor, so phi crosses 8 about 200 ms into
    // a silence; RaftNode still holds a campaign back for its tolerated pause.
    failureDetector: new PhiAccrualDetector({ threshold: 8, minStdDeviationMs: 20, firstHeartbeatEstimateMs: TICK_MS }),
  });
  await server.start();
  process.stdout.write(`synod-detector-serve: ${id} serving cluster on ${server.boundAddress}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await server.stop();
  await storage.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`synod-detector-serve: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
