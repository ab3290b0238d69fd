// One line per event, for logs and CI: no cursor movement, no colour, each line says which image it is about.
import type { Reporter } from '../run/events.ts';
import { formatEvent, type Line } from './format.ts';

export function plainLine(line: Line): string {
  if (line.image === undefined || line.continued) return line.text;
  return line.output ? `${line.image} | ${line.text}` : `${line.image}: ${line.text}`;
}

export function plainReporter(out: NodeJS.WritableStream, verbose: boolean): Reporter {
  return {
    emit(event) {
      for (const line of formatEvent(event, verbose)) out.write(`${plainLine(line)}\n`);
    },
    close: async () => {},
  };
}
