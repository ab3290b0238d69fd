// Bytes that should be UTF-8 text, checked rather than decoded with replacement characters: a config saved
// as UTF-16 by a Windows editor, or a binary given to `edit`, must be named as such, not half-read.
import { isUtf8 } from 'node:buffer';

export type DecodedText = { ok: true; text: string } | { ok: false; reason: string; line: number; col: number };

/** The text of UTF-8 bytes (a BOM kept as U+FEFF), or why they are not UTF-8 text and where. */
export function decodeUtf8(bytes: Uint8Array): DecodedText {
  const other = otherEncoding(bytes);
  if (other) return { ok: false, reason: `it is ${other}`, line: 1, col: 1 };
  const lenient = () => new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
  // A NUL first: a binary is better named as one than by its first byte that is not UTF-8.
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    const text = lenient();
    return { ok: false, reason: 'it holds NUL bytes, as binary files do', ...lineCol(text, text.indexOf('\0')) };
  }
  // Node's own check, not a fatal TextDecoder: that one's first use (ICU's converter) cost a run ~9 ms.
  if (isUtf8(bytes)) return { ok: true, text: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8') };
  const text = lenient();
  return { ok: false, reason: 'it has bytes that are not UTF-8', ...lineCol(text, text.indexOf('\uFFFD')) };
}

function otherEncoding(b: Uint8Array): string | undefined {
  if (b[0] === 0xff && b[1] === 0xfe && b[2] === 0 && b[3] === 0) return 'UTF-32 (little-endian, with a byte-order mark)';
  if (b[0] === 0 && b[1] === 0 && b[2] === 0xfe && b[3] === 0xff) return 'UTF-32 (big-endian, with a byte-order mark)';
  if (b[0] === 0xff && b[1] === 0xfe) return 'UTF-16 (little-endian, with a byte-order mark)';
  if (b[0] === 0xfe && b[1] === 0xff) return 'UTF-16 (big-endian, with a byte-order mark)';
  // Without a mark, ASCII text in UTF-16 has every other byte zero.
  if (b.length >= 2 && b[0] !== 0 && b[1] === 0) return 'UTF-16 (little-endian)';
  if (b.length >= 2 && b[0] === 0 && b[1] !== 0) return 'UTF-16 (big-endian)';
  return undefined;
}

function lineCol(text: string, index: number): { line: number; col: number } {
  const before = text.slice(0, Math.max(index, 0));
  const line = before.split('\n').length;
  return { line, col: before.length - before.lastIndexOf('\n') };
}
