// The targets a config offers, for --help.
import { ACTIONS } from '../model/actions.ts';
import type { Prepared } from '../config/prepare.ts';

export function listTargets({ config, graph }: Prepared): string[] {
  const rows: [string, string][] = [];
  for (const [name, spec] of Object.entries(config.images)) {
    const aliases = spec.aliases.length ? ` (also ${spec.aliases.join(', ')})` : '';
    rows.push([name, `image${aliases}${spec.description ? `: ${spec.description}` : ''}`]);
  }
  for (const [name, target] of graph.targets) {
    if (target.kind === 'command') rows.push([name, `host command of ${target.image}`]);
  }
  for (const [name, members] of Object.entries(config.groups)) rows.push([name, `group: ${members.join(' ')}`]);
  const actionHelp: Record<(typeof ACTIONS)[number], string> = {
    deploy: `push every tag of the selected images (${graph.actionTargets.join(' ')} when none is named)`,
    deploy_latest: 'tag the selected images :latest and push that',
    rmi: 'remove the local tags of the selected images',
    clean: 'remove the outputs of their host commands',
    distclean: 'rmi and clean',
  };
  for (const action of ACTIONS) rows.push([action, actionHelp[action]]);
  const width = Math.max(...rows.map(([n]) => n.length));
  return rows.map(([name, text]) => `  ${name.padEnd(width)}  ${text}`);
}
