// The classic builder speaks in text: `Step 3/7 : RUN make`, ` ---> Using cache`, ` ---> Running in …`,
// then the RUN's output. These become the same step and log events BuildKit's vertexes give, so that
// both builders look alike in every view.
import type { BuildProgress, BuildStep } from '../engine.ts';

const STEP = /^Step (\d+)\/\d+ : /;
// The builder's own bookkeeping between steps: not the user's output.
const BOOKKEEPING = /^( ---> |Removing intermediate container |Successfully built |Successfully tagged )/;

export interface ClassicSteps {
  onLine(line: string): void;
  /** The step that was running when the build failed, marked failed; its name for the error message. */
  fail(error: string): string | undefined;
  /** Marks the last step done once the build has finished. */
  finish(): void;
}

export function classicSteps(onProgress: (event: BuildProgress) => void, now: () => number = Date.now): ClassicSteps {
  let current: BuildStep | undefined;
  const close = (fields: Partial<BuildStep>) => {
    if (!current) return;
    current = { ...current, completed: now(), ...fields };
    onProgress({ kind: 'step', step: current });
  };
  return {
    onLine(line) {
      const step = STEP.exec(line);
      if (step) {
        close({});
        // The engine's own words name the step, as the docker CLI shows them.
        current = { id: `step-${step[1]}`, name: line, cached: false, started: now() };
        onProgress({ kind: 'step', step: current });
        return;
      }
      if (line === ' ---> Using cache' && current) {
        current = { ...current, cached: true };
        return;
      }
      if (BOOKKEEPING.test(line)) return;
      onProgress({ kind: 'log', stepId: current?.id, line });
    },
    fail(error) {
      const name = current?.name;
      close({ error });
      current = undefined;
      return name;
    },
    finish() {
      close({});
      current = undefined;
    },
  };
}
