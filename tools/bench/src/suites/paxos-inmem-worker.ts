/**
 * Child-process entry of the paxos-inmem suite: one measurement per process
 * (see {@link paxosInmemSuite} and the raft-inmem suite for why).
 */
import { answerParent } from '../child.js';
import { measurePaxosInmem } from './paxos-inmem.js';

answerParent('paxos-inmem-worker', measurePaxosInmem);
