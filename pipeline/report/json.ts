// --json: one event per line on stdout. Build output lines are events too, with --verbose only.
import type { Reporter } from '../run/events.ts';

export function jsonReporter(out: NodeJS.WritableStream, verbose: boolean): Reporter {
  return {
    emit(event) {
      if (event.type === 'log' && !verbose) return;
      out.write(`${JSON.stringify(event)}\n`);
    },
    close: async () => {},
  };
}

export function fanOut(...reporters: Reporter[]): Reporter {
  return {
    emit: (event) => reporters.forEach((r) => r.emit(event)),
    close: async () => {
      await Promise.all(reporters.map((r) => r.close()));
    },
  };
}
