import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveSources } from '../../pipeline/context/resolve-sources.ts';
import type { ContextSource } from '../../pipeline/model/context-entries.ts';

test('two edits of one base file stack: the second starts from the first one’s result', async () => {
  const reads: string[] = [];
  const sources: ContextSource[] = [
    {
      kind: 'image-file',
      name: 's00-edit/rc.local',
      imagePath: '/etc/rc.d/rc.local',
      edit: { kind: 'append-line', line: '/scripts/one.sh', executable: true },
      ownerArg: 'A',
    },
    {
      kind: 'image-file',
      name: 's01-edit/rc.local',
      imagePath: '/etc/rc.d/rc.local',
      edit: { kind: 'append-line', line: '/scripts/two.sh', executable: true },
      ownerArg: 'B',
    },
  ];
  const { sources: resolved, args } = await resolveSources(sources, {
    fetcher: { fetch: async () => assert.unreachable(), extract: async () => assert.unreachable() } as never,
    readBaseFile: async (file) => {
      reads.push(file);
      return { content: Buffer.from('#!/bin/sh\ntouch /var/lock/subsys/local\n'), mode: 0o644, uid: 0, gid: 0 };
    },
  });
  const last = resolved.at(-1)!;
  assert.ok(last.kind === 'bytes');
  if (last.kind === 'bytes') assert.is(String(last.data), '#!/bin/sh\ntouch /var/lock/subsys/local\n/scripts/one.sh\n/scripts/two.sh\n');
  assert.equal(reads, ['/etc/rc.d/rc.local'], 'the base file is read once');
  assert.equal(args, { A: '0:0', B: '0:0' });
});

test.run();
