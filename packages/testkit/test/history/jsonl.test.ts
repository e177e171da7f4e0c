import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HistoryParseError,
  jsonCodec,
  kvCodec,
  parseHistoryJsonl,
  registerCodec,
  serializeHistoryJsonl,
  type HistoryEvent,
  type KvInput,
  type KvOutput,
} from '../../src/history/index.js';

function parseError(text: string): HistoryParseError {
  try {
    parseHistoryJsonl(text, kvCodec);
  } catch (err) {
    if (err instanceof HistoryParseError) return err;
    throw err;
  }
  throw new Error('expected a HistoryParseError');
}

const invoke = '{"type":"invoke","id":0,"client":"c","time":1,"input":{"f":"get","key":"a"}}';

describe('JSON-lines histories', () => {
  it('parses without a header and skips blank lines', () => {
    const text = `\n${invoke}\n\n{"type":"ok","id":0,"client":"c","time":2,"output":{"f":"get","value":null}}\n`;
    const { model, history } = parseHistoryJsonl(text, kvCodec);
    expect(model).toBeUndefined();
    expect(history).toHaveLength(2);
  });

  it.each([
    ['{"type":"invoke"', 1, /not valid JSON/],
    ['[1,2]', 1, /expected a JSON object/],
    [`${invoke}\n{"type":"done","id":0,"client":"c","time":2}`, 2, /"type" must be/],
    [`${invoke}\n{"type":"ok","id":1,"client":"c","time":2,"output":{"f":"get","value":null}}`, 2, /never invoked/],
    [`${invoke}\n${invoke.replace('"time":1', '"time":3')}`, 2, /invoked twice/],
    [`${invoke}\n{"type":"info","id":0,"client":"c","time":0}`, 2, /lower than the previous/],
    [`${invoke}\n{"type":"info","id":0,"client":"d","time":2}`, 2, /completed by d/],
    [`${invoke}\n{"type":"info","id":0,"client":"c","time":2}\n{"type":"ok","id":0,"client":"c","time":3,"output":{"f":"get","value":null}}`, 3, /second time/],
    ['{"type":"invoke","id":0,"client":"c","time":1,"input":{"f":"frob","key":"a"}}', 1, /bad input: "f" must be/],
    [`${invoke}\n{"type":"ok","id":0,"client":"c","time":2}`, 2, /needs an "output"/],
    [`${invoke}\n{"type":"header","format":"synod-history","version":1}`, 2, /header must be the first line/],
    ['{"type":"header","format":"synod-history","version":7}', 1, /unsupported version/],
    ['{"type":"invoke","id":-1,"client":"c","time":1,"input":{}}', 1, /"id" must be/],
  ])('reports %j as a typed error on line %i', (text, line, message) => {
    const err = parseError(text);
    expect(err.line).toBe(line);
    expect(err.message).toMatch(new RegExp(`^line ${line}: `));
    expect(err.message).toMatch(message);
    expect(err.code).toBe('HISTORY_PARSE');
  });

  it('round-trips any well-formed KV history', () => {
    const input = fc.oneof(
      fc.record({ f: fc.constant('get' as const), key: fc.string() }),
      fc.record({ f: fc.constant('put' as const), key: fc.string(), value: fc.string() }),
      fc.record({ f: fc.constant('delete' as const), key: fc.string() }),
      fc.record({ f: fc.constant('cas' as const), key: fc.string(), expected: fc.option(fc.string()), value: fc.string() }),
    );
    const op = fc.record({
      client: fc.oneof(fc.string(), fc.nat()),
      input,
      outcome: fc.constantFrom('ok', 'fail', 'info', 'open'),
      error: fc.option(fc.string(), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 20 }), (ops) => {
        const events: HistoryEvent<KvInput, KvOutput>[] = [];
        ops.forEach((o, id) => events.push({ type: 'invoke', id, client: o.client, time: id, input: o.input }));
        ops.forEach((o, id) => {
          const time = ops.length + id;
          if (o.outcome === 'ok') {
            const output: KvOutput =
              o.input.f === 'get' ? { f: 'get', value: null } : o.input.f === 'cas' ? { f: 'cas', swapped: false } : { f: o.input.f };
            events.push({ type: 'ok', id, client: o.client, time, output });
          } else if (o.outcome !== 'open') {
            events.push(
              o.error === undefined
                ? { type: o.outcome, id, client: o.client, time }
                : { type: o.outcome, id, client: o.client, time, error: o.error },
            );
          }
        });
        const text = serializeHistoryJsonl(events, { codec: kvCodec, model: 'kv' });
        expect(parseHistoryJsonl(text, kvCodec)).toEqual({ model: 'kv', history: events });
      }),
    );
  });

  it('survives arbitrary garbage with either a parse error or a history', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          parseHistoryJsonl(text, jsonCodec);
        } catch (err) {
          expect(err).toBeInstanceOf(HistoryParseError);
        }
      }),
    );
  });

  it('reads register histories with the register codec', () => {
    const text = [
      '{"type":"invoke","id":0,"client":1,"time":0,"input":{"f":"cas","expected":null,"value":3}}',
      '{"type":"ok","id":0,"client":1,"time":1,"output":{"f":"cas","swapped":true}}',
    ].join('\n');
    expect(parseHistoryJsonl(text, registerCodec).history[0]).toMatchObject({ input: { f: 'cas', expected: null, value: 3 } });
  });
});
