import nx from '@nx/eslint-plugin';

/**
 * Dependency rules from DESIGN.md, enforced on every import:
 * core depends on nothing in the workspace; protocol on core; transports on
 * core and protocol; testkit on core, protocol and transport-memory; apps and
 * tools on anything. `@nx/enforce-module-boundaries` also rejects cycles.
 */
const dependencyRules = [
  { sourceTag: 'scope:core', onlyDependOnLibsWithTags: ['scope:core'] },
  { sourceTag: 'scope:protocol', onlyDependOnLibsWithTags: ['scope:core', 'scope:protocol'] },
  { sourceTag: 'scope:transport', onlyDependOnLibsWithTags: ['scope:core', 'scope:protocol'] },
  {
    sourceTag: 'scope:testkit',
    onlyDependOnLibsWithTags: ['scope:core', 'scope:protocol', 'transport:memory', 'scope:testkit'],
  },
  { sourceTag: 'scope:app', onlyDependOnLibsWithTags: ['*'] },
  { sourceTag: 'scope:tool', onlyDependOnLibsWithTags: ['*'] },
];

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  {
    ignores: ['**/dist', '**/out-tsc', '**/node_modules', '**/vite.config.*.timestamp*', '**/vitest.config.*.timestamp*'],
  },
  {
    // Config files (eslint/vitest) import shared root configs; the rule is for code.
    files: ['**/src/**/*.ts', '**/test/**/*.ts', '**/scripts/**/*.mjs'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: true,
          allow: [],
          depConstraints: dependencyRules,
        },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      // Non-null assertions mark lookups that an invariant guarantees (a
      // peer's progress, a timer's slot); the alternative is dead branches.
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // A transport's own tests run the compliance suite of @synod/testkit
    // (a devDependency); its src still depends on core and protocol only.
    // testkit never depends on a network transport, so this adds no cycle.
    files: ['**/test/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: true,
          allow: [],
          depConstraints: dependencyRules.map((rule) =>
            rule.sourceTag === 'scope:transport'
              ? { ...rule, onlyDependOnLibsWithTags: [...rule.onlyDependOnLibsWithTags, 'scope:testkit'] }
              : rule,
          ),
        },
      ],
    },
  },
  {
    files: ['**/src/gen/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-unused-vars': 'off' },
  },
];
