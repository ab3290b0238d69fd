// Lint: the recommended rules of ESLint and typescript-eslint, plus the architecture's one rule: the core
// (config, model, plan, steps) never imports the shell (context, run, engine, registry, report, cli).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const SHELL = ['context', 'run', 'engine', 'registry', 'report', 'cli'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Tests strip the terminal's escape sequences, which start with a control character.
    files: ['test/**'],
    rules: { 'no-control-regex': 'off' },
  },
  {
    files: ['pipeline/config/**', 'pipeline/model/**', 'pipeline/plan/**', 'steps/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `(^|/)(pipeline/)?(${SHELL.join('|')})/`,
              message: 'the core (config, model, plan, steps) does not import the shell; move the shared type to pipeline/model/',
            },
          ],
        },
      ],
    },
  },
);
