import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  EdnKeyword,
  HistoryParseError,
  operationsFromHistory,
  parseEdnKvHistory,
  parseJepsenHistory,
  readEdn,
} from '../../src/history/index.js';

const fixtures = fileURLToPath(new URL('../fixtures/porcupine/', import.meta.url));

function lineOf(fn: () => unknown): number {
  try {
    fn();
  } catch (err) {
    if (err instanceof HistoryParseError) return err.line;
    throw err;
  }
  throw new Error('expected a HistoryParseError');
}

describe('readEdn', () => {
  it('reads the values the histories use', () => {
    expect(readEdn('nil')).toBeNull();
    expect(readEdn('[3 0]')).toEqual([3, 0]);
    expect(readEdn('"x \\"q\\" y"')).toBe('x "q" y');
    const map = readEdn('{:process 0, :type :invoke, :value nil}');
    expect(map).toBeInstanceOf(Map);
    expect((map as Map<string, unknown>).get('type')).toEqual(new EdnKeyword('invoke'));
  });

  it.each(['[1 2', '"open', '{:a}', '{"k" 1}', '#{1}', '1 2'])('rejects %j', (text) => {
    expect(() => readEdn(text)).toThrow(SyntaxError);
  });
});

describe('parseJepsenHistory', () => {
  it('reads every etcd fixture, pairing events by process', () => {
    const files = readdirSync(join(fixtures, 'jepsen')).filter((f) => f.endsWith('.log'));
    expect(files).toHaveLength(50);
    for (const file of files) {
      const text = readFileSync(join(fixtures, 'jepsen', file), 'utf8');
      const history = parseJepsenHistory(text);
      expect(history).toHaveLength(text.trim().split('\n').length);
      const ops = operationsFromHistory(history);
      // Every :info stays in the history; nothing is dropped while parsing.
      expect(ops.filter((o) => o.status === 'info').length).toBe((text.match(/\t:info\t/g) ?? []).length);
    }
  });

  it('reads reads, writes, cas, fail and info with reasons', () => {
    const history = parseJepsenHistory(
      [
        'INFO  jepsen.util - 0\t:invoke\t:read\tnil',
        'INFO  jepsen.util - 1\t:invoke\t:cas\t[3 0]',
        'INFO  jepsen.util - 0\t:ok\t:read\tnil',
        'INFO  jepsen.util - 1\t:fail\t:cas\t[3 0]',
        'INFO  jepsen.core - something else entirely',
        'INFO  jepsen.util - 2\t:invoke\t:write\t4',
        'INFO  jepsen.util - 2\t:info\t:write\t:timed-out',
      ].join('\n'),
    );
    const ops = operationsFromHistory(history);
    expect(ops.map((o) => [o.client, o.input, o.status])).toEqual([
      [0, { f: 'read' }, 'ok'],
      [1, { f: 'cas', expected: 3, value: 0 }, 'fail'],
      [2, { f: 'write', value: 4 }, 'info'],
    ]);
    expect(ops[0]?.output).toEqual({ f: 'read', value: null });
    expect(ops[2]?.error).toBe(':timed-out');
  });

  it.each([
    ['INFO  jepsen.util - 0\t:ok\t:read\t1', 1, /no operation in flight/],
    ['INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:invoke\t:read\tnil', 2, /still in flight/],
    ['INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:write\t1', 2, /does not match/],
    ['INFO  jepsen.util - 0\t:invoke\t:cas\t5', 1, /\[old new\]/],
    ['INFO  jepsen.util - 0\t:invoke\t:frob\t5', 1, /unsupported operation/],
    ['hello world', 1, /not a Jepsen history line/],
  ])('reports %j on line %i', (text, line, message) => {
    expect(lineOf(() => parseJepsenHistory(text))).toBe(line);
    expect(() => parseJepsenHistory(text)).toThrow(message);
  });
});

describe('parseEdnKvHistory', () => {
  it('reads every Porcupine kv fixture', () => {
    for (const file of readdirSync(join(fixtures, 'kv'))) {
      const text = readFileSync(join(fixtures, 'kv', file), 'utf8');
      const history = parseEdnKvHistory(text);
      expect(history).toHaveLength(text.trim().split('\n').length);
    }
  });

  it('reads get, put and append with their keys and values', () => {
    const ops = operationsFromHistory(
      parseEdnKvHistory(
        [
          '{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}',
          '{:process 1, :type :invoke, :f :get, :key "0", :value nil}',
          '{:process 0, :type :ok, :f :append, :key "0", :value "x 0 0 y"}',
          '{:process 1, :type :ok, :f :get, :key "0", :value ""}',
          '{:process 2, :type :invoke, :f :put, :key "1", :value "v"}',
          '{:process 2, :type :info, :f :put, :key "1", :value "v", :error :timeout}',
        ].join('\n'),
      ),
    );
    expect(ops.map((o) => [o.client, o.input, o.status, o.output])).toEqual([
      [0, { f: 'append', key: '0', value: 'x 0 0 y' }, 'ok', { f: 'append' }],
      [1, { f: 'get', key: '0' }, 'ok', { f: 'get', value: '' }],
      [2, { f: 'put', key: '1', value: 'v' }, 'info', undefined],
    ]);
    expect(ops[2]?.error).toBe(':timeout');
  });

  it.each([
    ['{:process 0, :type :invoke, :f :get, :key "6", :value nil', 1, /bad EDN/],
    ['[1 2]', 1, /expected a map/],
    ['{:process 0, :type :invoke, :f :get}', 1, /:key must be/],
    ['{:process 0, :type :invoke, :f :put, :key "a", :value nil}', 1, /needs a :value/],
    ['\n{:process 0, :type :oops, :f :get, :key "a"}', 2, /:type must be/],
  ])('reports %j on line %i', (text, line, message) => {
    expect(lineOf(() => parseEdnKvHistory(text))).toBe(line);
    expect(() => parseEdnKvHistory(text)).toThrow(message);
  });
});
