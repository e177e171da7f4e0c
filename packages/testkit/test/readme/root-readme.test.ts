import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';

const readme = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');
const example = readFileSync(new URL('./root-usage.ts', import.meta.url), 'utf8');

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the repository README', () => {
  it('shows the usage example exactly as test/readme/root-usage.ts, which typechecks', () => {
    const match = /<!-- example: usage -->\n```ts\n([\s\S]*?)```/.exec(readme);
    expect(match?.[1]).toBe(example);
  });

  it('runs the usage example: the write applies and a linearizable read sees it', async () => {
    const logged: unknown[][] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void logged.push(args));
    await import('./root-usage.js');
    expect(logged).toHaveLength(1);
    const [result, read] = logged[0]!;
    expect(result).toMatchObject({ type: 'put', revision: 1 });
    expect(read).toMatchObject({ type: 'get', kv: { key: 'a', value: '1' } });
  });
});
