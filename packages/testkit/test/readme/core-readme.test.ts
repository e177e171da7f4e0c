import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';

const readme = readFileSync(new URL('../../../core/README.md', import.meta.url), 'utf8');
const example = readFileSync(new URL('./core-quick-start.ts', import.meta.url), 'utf8');

/** The code block that follows `<!-- example: NAME -->` in the README. */
function block(name: string): string {
  const marker = `<!-- example: ${name} -->`;
  const at = readme.indexOf(marker);
  if (at < 0) throw new Error(`no ${marker} in packages/core/README.md`);
  const match = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  if (match === null) throw new Error(`no ts block after ${marker}`);
  return match[1]!;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('@synod/core README', () => {
  it('shows the quick start exactly as test/readme/core-quick-start.ts, which typechecks', () => {
    expect(block('quick-start')).toBe(example);
  });

  it('runs the quick start: elect, write, read, hand over, stop', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
    await import('./core-quick-start.js');
    expect(lines).toContain('n1 follows n1 in term 1');
    expect(lines).toContain('put at revision 1');
    expect(lines).toContain('read hello');
    expect(lines).toContain('n2 is leader');
    expect(lines.at(-1)).toBe('n2 is leader');
  });
});
