import { describe, expect, it } from 'vitest';
import { Network } from './network.js';

describe('smoke', () => {
  it('elects and replicates', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    expect(net.leaders()).toEqual(['a']);
    net.propose('a', 'x');
    net.propose('b', 'y');
    for (const id of ['a', 'b', 'c']) expect(net.appliedText(id)).toEqual(['x', 'y']);
    net.tickAll(50);
    expect(net.leaders()).toEqual(['a']);
  });
  it('single node', () => {
    const net = new Network(['a']);
    net.tickAll(30);
    expect(net.leaders()).toEqual(['a']);
    net.propose('a', 'x');
    expect(net.appliedText('a')).toEqual(['x']);
  });
});
