// Which step of an image's config a failure came from, for its annotation: a host command by its name (or
// the image's one command step), a RUN by its command as the failing instruction shows it (BuildKit's
// `[2/3] RUN ["/bin/sh", "-c", "make"]: ...`, the classic builder's `Step 2/3 : RUN ...`). Read from the
// config as written: a command holding a ${VARIABLE} is not found, and the annotation goes to the image.

type Step = Record<string, unknown> | null | undefined;

export function failedStep(steps: readonly unknown[], failure: { command?: string; error?: string }): number | undefined {
  const indexed = steps.map((step, i) => [i, step as Step] as const);
  if (failure.command !== undefined) {
    const commands = indexed.filter(([, step]) => step && typeof step === 'object' && 'command' in step);
    const named = commands.find(([, step]) => (step!['command'] as { name?: unknown } | null)?.name === failure.command);
    return (named ?? (commands.length === 1 ? commands[0] : undefined))?.[0];
  }
  const error = failure.error;
  if (!error || !/\bRUN\b/.test(error)) return undefined;
  const compact = error.replace(/",\s+"/g, '","');
  const runs = indexed.filter(([, step]) => {
    const run = step && typeof step === 'object' ? step['run'] : undefined;
    const command = run && typeof run === 'object' && !Array.isArray(run) ? (run as { command?: unknown }).command : run;
    const shown =
      typeof command === 'string' ? JSON.stringify(command) : Array.isArray(command) ? command.map((c) => JSON.stringify(String(c))).join(',') : undefined;
    return shown !== undefined && compact.includes(shown);
  });
  // The longest command that the instruction shows: `make` would also be found in `make install`.
  return runs.sort(([, a], [, b]) => JSON.stringify(b).length - JSON.stringify(a).length)[0]?.[0];
}
