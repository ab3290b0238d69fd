// The results: a table per part (medians in seconds, then build-images / baseline for each pair), the
// issue's goals each stated as met or not met, and the same as JSON for the README's table.
import { CASE_TITLES, type CaseKey, type Medians, type Side } from './measure.ts';

export interface TimedPart {
  title: string;
  sides: Pick<Side, 'name' | 'kind'>[];
  cases: Partial<Record<CaseKey, Medians>>;
}

export interface Goal {
  goal: string;
  value: number;
  limit: number;
  unit: '×' | 'MB';
  /** undefined: not judged (the part was shrunk by --quick). */
  met?: boolean;
}

const ratioName = (tool: string, baseline: string) => `${tool} / ${baseline}`;

export function ratios(part: TimedPart): Record<string, Record<string, number>> {
  const tools = part.sides.filter((s) => s.kind === 'build-images');
  const baselines = part.sides.filter((s) => s.kind === 'baseline');
  const out: Record<string, Record<string, number>> = {};
  for (const [key, medians] of Object.entries(part.cases)) {
    out[key] = {};
    for (const t of tools) for (const b of baselines) out[key]![ratioName(t.name, b.name)] = medians[t.name]! / medians[b.name]!;
  }
  return out;
}

export function table(part: TimedPart): string {
  const all = ratios(part);
  const sideCols = part.sides.map((s) => s.name);
  const ratioCols = Object.keys(Object.values(all)[0] ?? {});
  const header = ['case', ...sideCols.map((c) => `${c} (s)`), ...ratioCols];
  const rows = Object.entries(part.cases).map(([key, medians]) => [
    CASE_TITLES[key as CaseKey],
    ...sideCols.map((c) => medians[c]!.toFixed(2)),
    ...ratioCols.map((c) => all[key]![c]!.toFixed(2)),
  ]);
  return markdown(header, rows);
}

export function markdown(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  return [line(header), `| ${widths.map((w, i) => (i ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`, ...rows.map(line)].join('\n');
}

/** Each tool side's ratio to one baseline, per case, against a limit. */
export function ratioGoals(part: TimedPart, baseline: string, limits: Partial<Record<CaseKey, number>>, prefix: string, judged: boolean): Goal[] {
  const all = ratios(part);
  const goals: Goal[] = [];
  for (const tool of part.sides.filter((s) => s.kind === 'build-images')) {
    for (const [key, limit] of Object.entries(limits) as [CaseKey, number][]) {
      const value = all[key]?.[ratioName(tool.name, baseline)];
      if (value === undefined) continue;
      goals.push({
        goal: `${prefix}, ${CASE_TITLES[key]}: ${tool.name} ≤ ${limit.toFixed(1)}× ${baseline}`,
        value,
        limit,
        unit: '×',
        met: judged ? value <= limit : undefined,
      });
    }
  }
  return goals;
}

export function goalLine(goal: Goal): string {
  const verdict = goal.met === undefined ? 'not judged (--quick)' : goal.met ? 'met' : 'NOT met';
  const value = goal.unit === '×' ? `${goal.value.toFixed(2)}×` : `${goal.value.toFixed(0)} MB`;
  return `${verdict.padEnd(20)} ${goal.goal}: ${value}`;
}

/** Registry traffic per case and side (medians): requests, and KiB of blobs pulled and uploaded. */
export function trafficTable(cases: Partial<Record<CaseKey, Record<string, { requests: number; pulled: number; uploaded: number }>>>): string {
  const rows = Object.entries(cases).flatMap(([key, sides]) =>
    Object.entries(sides).map(([side, t]) => [
      `${CASE_TITLES[key as CaseKey]}: ${side}`,
      String(t.requests),
      (t.pulled / 1024).toFixed(0),
      (t.uploaded / 1024).toFixed(0),
    ]),
  );
  return markdown(['case: side', 'registry requests', 'blobs pulled (KiB)', 'blobs uploaded (KiB)'], rows);
}
