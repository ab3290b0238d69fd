// The test bed's modern engines are made from the machine's own Debian mirror: which one apt's sources name.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { debianMirror } from '../support/engine-root.ts';
import { tempDir } from '../support/temp.ts';

async function apt(files: Record<string, string>): Promise<string> {
  const dir = await tempDir('bi-apt-');
  await mkdir(path.join(dir, 'sources.list.d'));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

test('the mirror of a deb822 source, not its security archive nor another vendor', async () => {
  const dir = await apt({
    'sources.list.d/google.list': 'deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n',
    'sources.list.d/debian.sources': [
      'Types: deb',
      'URIs: http://mirror.example/debian-security',
      'Suites: bookworm-security',
      '',
      'Types: deb',
      '# a comment',
      'URIs: http://mirror.example/debian',
      'Suites: bookworm bookworm-updates',
      'Components: main',
    ].join('\n'),
  });
  assert.is(debianMirror({}, dir), 'http://mirror.example/debian');
});

test('the one-line format, with options; the environment wins; deb.debian.org without any', async () => {
  const dir = await apt({
    'sources.list': 'deb [arch=amd64] http://ftp.example/debian/ bookworm main\ndeb http://ftp.example/debian-security bookworm-security main\n',
  });
  assert.is(debianMirror({}, dir), 'http://ftp.example/debian/');
  assert.is(debianMirror({ BUILD_IMAGES_TEST_DEBIAN_MIRROR: 'http://other/debian' }, dir), 'http://other/debian');
  assert.is(debianMirror({}, await apt({})), 'http://deb.debian.org/debian');
});

test.run();
