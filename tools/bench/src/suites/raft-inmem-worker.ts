/**
 * Child-process entry of the raft-inmem suite: one measurement per process
 * (see {@link raftInmemSuite} for why).
 */
import { answerParent } from '../child.js';
import { measureRaftInmem } from './raft-inmem.js';

answerParent('raft-inmem-worker', measureRaftInmem);
