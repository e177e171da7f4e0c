export {
  simulatePaxos,
  type PaxosSimMutations,
  type PaxosSimulationOptions,
  type PaxosSimulationResult,
} from './paxos-simulation.js';
export { PaxosInvariants, type PaxosViolation } from './paxos-invariants.js';
