// The plain view for a CI log that folds (GitHub's ::group::, GitLab's sections): each image's lines in a
// group of their own. A CI log's groups follow one another, they cannot interleave, while images build side
// by side: one image's group is open at a time and its lines go out as they come; another image's lines wait
// until that group closes, then go out as a group of their own (still live if it is still building). An
// image's outcome is written just after its group, outside it, so that the log reads without unfolding
// anything, and so are the lines that belong to no running image (notices, pushes, the summary).
import type { Reporter, RunEvent } from '../run/events.ts';
import { formatEvent, type Line } from './format.ts';
import { plainLine } from './plain.ts';

export interface GroupMarkers {
  /** The line that opens image `n`'s group, and the one that closes it. */
  open(image: string, n: number): string;
  close(image: string, n: number): string;
  /** A physical line of text made harmless: what the CI would read as a command of its own. */
  guard(line: string): string;
}

export interface GroupedView extends Reporter {
  /** Written at once, outside any group: the CI's own commands (a mask must precede what it masks). */
  raw(line: string): void;
}

interface Pending {
  n: number;
  lines: string[];
  /** Its outcome, once it has finished: written after its group. */
  outcome?: string[];
}

export function groupedReporter(out: NodeJS.WritableStream, verbose: boolean, markers: GroupMarkers): GroupedView {
  const write = (text: string) => {
    for (const line of text.split(/\r\n|\r|\n/)) out.write(`${markers.guard(line)}\n`);
  };
  let count = 0;
  let open: { image: string; n: number } | undefined;
  const pending = new Map<string, Pending>();
  const finished = new Set<string>();
  const loose: string[] = [];

  const pendingOf = (image: string): Pending => {
    let p = pending.get(image);
    if (!p) {
      p = { n: ++count, lines: [] };
      pending.set(image, p);
    }
    return p;
  };
  const openGroup = (image: string, p: Pending) => {
    open = { image, n: p.n };
    out.write(`${markers.open(image, p.n)}\n`);
    for (const line of p.lines.splice(0)) write(line);
  };
  const closeGroup = () => {
    if (!open) return;
    out.write(`${markers.close(open.image, open.n)}\n`);
    const p = pending.get(open.image)!;
    pending.delete(open.image);
    open = undefined;
    for (const line of p.outcome ?? []) write(line);
  };
  /** With no group open: what waited goes out, finished groups first, then the next one still building. */
  const flush = () => {
    while (!open) {
      for (const line of loose.splice(0)) write(line);
      const next = [...pending.entries()].sort(([, a], [, b]) => Number(b.outcome !== undefined) - Number(a.outcome !== undefined) || a.n - b.n)[0];
      if (!next) return;
      const [image, p] = next;
      if (p.lines.length === 0 && p.outcome) {
        pending.delete(image);
        for (const line of p.outcome) write(line);
        continue;
      }
      openGroup(image, p);
      if (p.outcome) closeGroup();
    }
  };

  const lineOf = (line: Line) => plainLine(line);
  return {
    raw(line) {
      out.write(`${line}\n`);
    },
    emit(event: RunEvent) {
      const lines = formatEvent(event, verbose);
      const image = 'image' in event ? event.image : undefined;
      if (event.type === 'finish' && image !== undefined) {
        finished.add(image);
        const p = pendingOf(image);
        p.outcome = lines.map(lineOf);
        if (open?.image === image) closeGroup();
        flush();
        return;
      }
      if (lines.length === 0) return;
      if (image === undefined || finished.has(image)) {
        loose.push(...lines.map(lineOf));
        if (!open) flush();
        return;
      }
      if (open?.image === image) {
        for (const line of lines) write(lineOf(line));
        return;
      }
      pendingOf(image).lines.push(...lines.map(lineOf));
      if (!open) flush();
    },
    async close() {
      closeGroup();
      // What never finished (an interrupted run) goes out as it is.
      for (const p of pending.values()) p.outcome ??= [];
      flush();
    },
  };
}
