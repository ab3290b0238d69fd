// Whether a fetched body is what its step expects. A server may answer 200 with an error page: ONAP's
// 2019 "Fix bad types file download" was an HTML page embedded as a Cloudify types file, and a proxy can
// answer with an empty body. Such a body fails the build, naming the URL and the content type, and is
// never cached or pinned.
import { open, readFile } from 'node:fs/promises';
import type { FetchExpect } from '../model/context-entries.ts';
import { RunError } from '../model/errors.ts';
import { redactUrl } from '../model/url.ts';

const WHAT: Record<FetchExpect, string> = {
  yaml: 'a YAML file',
  text: 'a text file',
  binary: 'a file',
  archive: 'a .tar.gz archive',
};

const HTML = /^\s*(<!doctype html|<html|<head|<body)/i;

/** Fails unless the file at `file` (fetched from `url`) looks like what `expect` says. */
export async function checkFetchedBody(file: string, url: string, expect: FetchExpect, contentType = ''): Promise<void> {
  const head = await readHead(file, 512);
  const fail = (got: string, hint = 'check the URL in a browser or with curl -i; nothing is cached or pinned from this answer') =>
    new RunError(`${redactUrl(url)} did not give ${WHAT[expect]}: ${got} (content type ${contentType || 'not given'})`, hint);
  if (head.length === 0) throw fail('the body is empty');
  const htmlWanted = htmlAllowed(url, expect);
  if (!htmlWanted && (/^text\/html\b/i.test(contentType) || HTML.test(head.toString('latin1')))) {
    throw fail(
      'an HTML page',
      "a server's error or login page comes back as HTML with status 200; if HTML is what you want, fetch a .html URL with expect: text",
    );
  }
  if (expect === 'archive' && !(head[0] === 0x1f && head[1] === 0x8b)) throw fail('not gzip data', 'extract reads .tar.gz archives');
  if (expect === 'text' || expect === 'yaml') {
    const text = await readFile(file);
    if (text.includes(0)) throw fail('binary data');
    const decoded = new TextDecoder('utf-8', { fatal: true });
    try {
      decoded.decode(text);
    } catch {
      throw fail('not UTF-8 text');
    }
    if (expect === 'yaml') {
      // Loaded here: a body checked once is marked so (fetcher.ts), and most runs check none. yaml is
      // CommonJS: imported late from the bundle, its functions are on the default export only.
      const { parseDocument } = (await import('yaml')).default;
      const doc = parseDocument(text.toString('utf8'));
      const error = doc.errors[0];
      if (error) throw fail(`not valid YAML (${error.message.split('\n')[0]})`, 'if the file is not YAML, say so with expect: text or expect: binary');
    }
  }
}

/** An HTML page is what a .html URL fetched as text should give. */
function htmlAllowed(url: string, expect: FetchExpect): boolean {
  return expect === 'text' && /\.html?$/i.test(new URL(url).pathname);
}

/** What decides the check's verdict on given bytes: the same bytes pass or fail alike for the same kind. */
export function checkKind(url: string, expect: FetchExpect): string {
  return htmlAllowed(url, expect) ? `${expect}-html` : expect;
}

async function readHead(file: string, bytes: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
