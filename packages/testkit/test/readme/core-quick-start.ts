import {
  KvStateMachine,
  MemoryStorage,
  RaftNode,
  SeededRandom,
  encodeKvCommand,
  systemClock,
  type KvQuery,
  type KvQueryResult,
  type KvResult,
} from '@synod/core';
import { MemoryNetwork } from '@synod/transport-memory';

// Three nodes in one process, on the in-memory network and real time.
const network = new MemoryNetwork({ clock: systemClock, random: new SeededRandom(1), clusterId: 'example' });
const ids = ['n1', 'n2', 'n3'];
const nodes = ids.map(
  (id) =>
    new RaftNode<KvResult, KvQuery, KvQueryResult>({
      raft: { id, voters: ids },
      clusterId: 'example',
      transport: network.endpoint(id),
      storage: new MemoryStorage(),
      stateMachine: new KvStateMachine(),
    }),
);
const [n1, n2] = nodes;
n1.on('leader', ({ leader, term }) => console.log(`n1 follows ${leader ?? 'nobody'} in term ${term}`));
for (const node of nodes) node.start();

// A fresh cluster elects a leader within an election timeout (1–2 s with the
// defaults); asking n1 to campaign gets one at once.
await n1.campaign({ timeoutMs: 5000 });

// Writes resolve with the state machine's result once applied on this node.
const put = await n1.propose(encodeKvCommand({ type: 'put', key: 'greeting', value: 'hello' }), { timeoutMs: 5000 });
console.log(put.type === 'put' ? `put at revision ${put.revision}` : `not applied: ${put.type}`);

// A linearizable read confirms leadership with a heartbeat round (ReadIndex).
const got = await n1.read({ type: 'get', key: 'greeting' }, { consistency: 'linearizable' });
console.log(got.type === 'get' ? `read ${got.kv?.value}` : got.type);

// Hand leadership to n2 and wait until n1 sees it lead.
await n1.transferLeadership('n2', { timeoutMs: 5000 });
console.log(`n2 is ${n2.status().role}`);

for (const node of nodes) await node.stop();
await network.close();
