// `npm run bench`: on the engine BUILD_IMAGES_TEST_DOCKER_HOST names, or, as root without it, on a private
// dockerd of its own as the tests use (its stand-ins carry public names: never on the user's engine).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NO_TEST_ENGINE, startPrivateEngine, type PrivateEngine } from '../support/private-engine.ts';

const BENCH = fileURLToPath(new URL('./bench.ts', import.meta.url));

let engine: PrivateEngine | undefined;
let env = process.env;
if (!process.env['BUILD_IMAGES_TEST_DOCKER_HOST']) {
  if (process.getuid?.() !== 0) {
    process.stderr.write(`${NO_TEST_ENGINE}\n`);
    process.exit(2);
  }
  engine = await startPrivateEngine();
  process.stderr.write(`benchmark engine: a private dockerd at ${engine.host}\n`);
  env = { ...process.env, BUILD_IMAGES_TEST_DOCKER_HOST: engine.host };
}
// The tool and the docker CLI it is measured against talk to the same engine.
env = { ...env, DOCKER_HOST: env['BUILD_IMAGES_TEST_DOCKER_HOST'] };
const child = spawn(process.execPath, ['--import', 'tsx', BENCH, ...process.argv.slice(2)], { stdio: 'inherit', env });
const stop = () => child.kill('SIGINT');
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
await engine?.stop();
process.exitCode = code ?? 1;
