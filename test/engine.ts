// Starts one engine of the test bed and keeps it until Ctrl-C, for running test files against it by hand:
//   npm run test:engine -- sid-containerd       (or bookworm, trixie-overlay2)
// then, in another terminal, BUILD_IMAGES_TEST_DOCKER_HOST=<the printed host> node --import tsx
// node_modules/uvu/bin.js test/integration <pattern>. The engine is private as in `npm test`, and stopped and
// removed on Ctrl-C (or SIGTERM).
import { prepareEngine, selectedEngines } from './support/test-engines.ts';

const id = process.argv[2] ?? 'sid-containerd';
const [engine] = selectedEngines({ ...process.env, BUILD_IMAGES_TEST_DOCKER_HOST: '', BUILD_IMAGES_TEST_ENGINES: id });
await prepareEngine(engine!, (line) => process.stderr.write(`${line}\n`));
const up = await engine!.start();
process.stdout.write(`${up.note}\nBUILD_IMAGES_TEST_DOCKER_HOST=${up.env['BUILD_IMAGES_TEST_DOCKER_HOST']}\n`);
const keep = setInterval(() => {}, 60_000);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    clearInterval(keep);
    process.stderr.write(`${signal}: stopping the engine\n`);
    void up.stop().then(() => process.exit(0));
  });
}
