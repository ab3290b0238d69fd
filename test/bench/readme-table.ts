// The README's tables from a results file of `npm run bench -- --json FILE`:
//   node --import tsx test/bench/readme-table.ts FILE
import { readFile } from 'node:fs/promises';
import { goalLine, markdown, table, trafficTable, type Goal, type TimedPart } from './report.ts';

const file = process.argv[2];
if (!file) throw new Error('usage: readme-table.ts RESULTS.json');
const results = JSON.parse(await readFile(file, 'utf8'));
console.log(
  `${results.engine}, ${results.cores} cores, median of ${results.runs} run${results.runs > 1 ? 's' : ''}, ${results.date.slice(0, 10)}; builders: ${results.builders.available.join(', ')}\n`,
);
const titles: Record<string, string> = {
  graph: "The repository's graph against make + `docker build`",
  context: `A ${results.context?.shape} context against \`docker build\``,
};
for (const key of ['graph', 'context']) {
  const part = results[key] as (Omit<TimedPart, 'title' | 'cases'> & { medians: TimedPart['cases'] }) | undefined;
  if (part) console.log(`${titles[key]} (seconds, and build-images / baseline):\n\n${table({ title: key, sides: part.sides, cases: part.medians })}\n`);
}
if (results.rss) {
  const rows = Object.entries(results.rss.builders as Record<string, { mb: number; seconds: number }>).map(([b, r]) => [
    `build-images (${b})`,
    r.mb.toFixed(0),
    r.seconds.toFixed(2),
  ]);
  console.log(`Peak RSS, cold build of ${results.rss.shape}:\n\n${markdown(['builder', 'peak RSS (MB)', 'time (s)'], rows)}\n`);
}
if (results.fresh) {
  const fresh = results.fresh;
  console.log(
    `A fresh CI runner and a registry holding the last push, against make + \`docker build\` (BuildKit, inline cache, --cache-from) + \`docker push\` (seconds, and build-images / baseline):\n\n${table({ title: 'fresh', sides: fresh.sides, cases: fresh.medians })}\n`,
  );
  console.log(`Registry traffic of each job (medians; bytes of blob GETs and uploads through the proxy):\n\n${trafficTable(fresh.traffic)}\n`);
}
console.log((results.goals as Goal[]).map((g) => `- ${goalLine(g)}`).join('\n'));
