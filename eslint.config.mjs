import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // The per-task paths: on Node 20 an object literal that begins with a spread and goes on
    // with more costs ~1 µs to make (~13 µs for two spreads); src/extended.ts says more.
    // A conditional spread of an optional field (`...(x ? { x } : {})`) anywhere in a literal
    // makes V8 build the whole object the generic way: set the field afterwards instead.
    files: ['src/store/**/*.ts', 'src/engine/**/*.ts', 'src/tasks/**/*.ts', 'src/rpc/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ObjectExpression:has(> SpreadElement:first-child + *)',
          message:
            'a leading spread followed by more is slow on Node 20: use extended() (src/extended.ts) or build the object field by field',
        },
        {
          selector: 'ObjectExpression > SpreadElement > ConditionalExpression',
          message:
            'a conditional spread makes the whole literal slow to build on Node 20: build the object, then set the optional field',
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { module: 'writable', require: 'readonly', __dirname: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
