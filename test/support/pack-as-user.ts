// Lists, digests and packs one copied directory and prints the outcome as one JSON line: a test runs it
// as an unprivileged user when it runs as root, for whom no file is unreadable.
import { buffer } from 'node:stream/consumers';
import { digestContext, listEntries, packEntries } from '../../pipeline/context/pack-context.ts';

const [dir, origin] = process.argv.slice(2) as [string, string];
try {
  const entries = await listEntries([{ kind: 'path', name: 'c', path: dir, root: dir, origin, excludes: [] }]);
  await digestContext(entries);
  await buffer(packEntries(entries));
  process.stdout.write(`${JSON.stringify({ ok: true })}\n`);
} catch (err) {
  process.stdout.write(`${JSON.stringify({ ok: false, name: (err as Error).name, message: (err as Error).message })}\n`);
}
