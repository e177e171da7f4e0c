import { KvStateMachine, MemoryStorage, RaftNode, SeededRandom, encodeKvCommand, systemClock } from '@synod/core';
import { MemoryNetwork } from '@synod/transport-memory';

const network = new MemoryNetwork({ clock: systemClock, random: new SeededRandom(1), clusterId: 'example' });
const ids = ['n1', 'n2', 'n3'];
const nodes = ids.map(
  (id) =>
    new RaftNode({
      raft: { id, voters: ids },
      clusterId: 'example',
      transport: network.endpoint(id),
      storage: new MemoryStorage(),
      stateMachine: new KvStateMachine(),
    }),
);
for (const node of nodes) node.start();
// A new cluster elects a leader within an election timeout; until a node
// knows the leader, its calls fail fast with NotLeaderError. Asking one node
// to campaign is quicker. Once followers know the leader (its first
// heartbeat), they forward proposals and reads to it.
const leader = nodes[0];
await leader.campaign({ timeoutMs: 5000 });
const result = await leader.propose(encodeKvCommand({ type: 'put', key: 'a', value: '1' }), { timeoutMs: 5000 });
const read = await leader.read({ type: 'get', key: 'a' }, { consistency: 'linearizable' });
console.log(result, read);

for (const node of nodes) await node.stop();
await network.close();
