export type { ApplyContext, CommandCodec, StateMachine } from './state-machine.js';
