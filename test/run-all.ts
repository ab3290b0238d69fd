// Runs the unit tests, then the integration tests against the real engine, and ends with the line CI
// reads: `N passed, N failed`. A runner that dies without its totals counts as a failure.
import { spawn } from 'node:child_process';

const SUITES = ['test/unit', 'test/integration'];
const ANSI = /\x1b\[[0-9;]*m/g;

async function runSuite(dir: string): Promise<{ passed: number; failed: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'node_modules/uvu/bin.js', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk);
    output += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const plain = output.replace(ANSI, '');
  const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
  const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
  if (Number.isNaN(total) || Number.isNaN(passed)) {
    process.stdout.write(`\n${dir}: the runner ended (code ${code}) without its totals\n`);
    return { passed: 0, failed: 1 };
  }
  return { passed, failed: total - passed + (code !== 0 && total === passed ? 1 : 0) };
}

let passed = 0;
let failed = 0;
for (const dir of SUITES) {
  const result = await runSuite(dir);
  passed += result.passed;
  failed += result.failed;
}
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exitCode = failed > 0 ? 1 : 0;
