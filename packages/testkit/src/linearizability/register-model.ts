import type { RegisterInput, RegisterOutput, RegisterValue } from '../history/register-ops.js';
import { markRegisterSemantics } from './fast-path.js';
import { hashString, UNKNOWN_OUTPUT, type Model, type StepResult } from './model.js';

const NULL_HASH = 0x6a09e667;

function show(value: RegisterValue): string {
  return value === null ? 'nil' : typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/**
 * A single compare-and-set register starting at `null` (Jepsen's `nil`):
 * read, write, and cas(expected, value). This is the model of Jepsen's
 * cas-register tests, such as the etcd histories.
 *
 * @example
 * ```ts
 * const result = checkLinearizability(registerModel, parseJepsenHistory(text));
 * ```
 */
export const registerModel: Model<RegisterValue, RegisterInput, RegisterOutput> = markRegisterSemantics({
  name: 'register',
  init: () => null,
  step(state, input, output): StepResult<RegisterValue> {
    const known = output !== UNKNOWN_OUTPUT;
    if (known && output.f !== input.f) return { ok: false };
    switch (input.f) {
      case 'read':
        if (!known || (output.f === 'read' && output.value === state)) return { ok: true, newState: state };
        return { ok: false };
      case 'write':
        return { ok: true, newState: input.value };
      case 'cas': {
        const matches = state === input.expected;
        if (known && output.f === 'cas' && output.swapped !== matches) return { ok: false };
        return { ok: true, newState: matches ? input.value : state };
      }
    }
  },
  equal: (a, b) => a === b,
  // Numbers and strings hash apart (a 1 and a "1" are different values).
  hash: (state) => (state === null ? NULL_HASH : hashString(`${typeof state}:${String(state)}`)),
  describeOperation(input, output) {
    const unknown = output === UNKNOWN_OUTPUT;
    switch (input.f) {
      case 'read':
        return `read -> ${unknown ? '?' : output.f === 'read' ? show(output.value) : '(bad output)'}`;
      case 'write':
        return `write ${show(input.value)}${unknown ? ' -> ?' : ''}`;
      case 'cas':
        return `cas ${show(input.expected)}->${show(input.value)}${
          unknown ? ' -> ?' : output.f === 'cas' ? (output.swapped ? '' : ' -> not swapped') : ''
        }`;
    }
  },
  describeState: show,
}, 'register', null);
