// The plan as an event: what `--dry-run` prints and `--json` carries, phase by phase, like `make -n` and
// `docker buildx bake --print`. Pure: whether a host command is up to date is asked by the caller and
// passed in. Never a credential: a push names its registry, not what will be sent to it.
import type { Action } from '../model/actions.ts';
import { pasteableCommand, type HostCommand } from '../model/host-command.ts';
import { pathsToClean, pushRefs, pushTarget, tagsToPush, tagsToRemove } from './action-targets.ts';
import type { Phase, Selection } from './phases.ts';
import type { ImagePlan, Plan } from './plan.ts';

export interface PlannedImage {
  name: string;
  base: string;
  dependsOn: readonly string[];
  tags: readonly string[];
  /** Absent: the builder's own. */
  platforms?: readonly string[];
  dockerfile: string;
}

export interface PlannedCommand {
  image: string;
  name?: string;
  cwd: string;
  env: Readonly<Record<string, string>>;
  command: string;
  /** Unknown (absent) when the caller did not look. */
  upToDate?: boolean;
  reason?: string;
}

export type PlannedPhase =
  | {
      kind: 'build';
      images: string[];
      commands: PlannedCommand[];
      forAction?: Action;
      /** Images the line pushes, whose registry a run asks first whether these tags hold the same inputs. */
      registryChecks?: { image: string; tags: string[] }[];
    }
  | { kind: 'action'; action: 'deploy' | 'deploy_latest'; images: string[]; pushes: { image: string; tag: string; registry: string }[] }
  | { kind: 'action'; action: 'rmi' | 'clean' | 'distclean'; images: string[]; removes: string[] };

export interface PlanEvent {
  type: 'plan';
  phases: PlannedPhase[];
  images: PlannedImage[];
}

/** What the caller found out about a command: whether it is up to date, and the command as it will run. */
export type Freshness = (command: HostCommand) => { upToDate: boolean; reason?: string; asRun?: HostCommand } | undefined;

export function planEvent(plan: Plan, phases: readonly Phase[], selected: Selection, freshness: Freshness = () => undefined, registryCheck = true): PlanEvent {
  const image = (name: string) => plan.images.get(name)!;
  const targets = selected.targets.map(image);
  const actions = phases.flatMap((phase) => (phase.kind === 'action' ? [phase.action] : []));
  const checked = registryCheck ? pushRefs(actions, targets) : new Map<string, string[]>();
  return {
    type: 'plan',
    phases: phases.map((phase): PlannedPhase => {
      if (phase.kind === 'build') {
        const commands = [
          ...phase.selection.commands.flatMap(({ image: owner, name }) => image(owner).hostCommands.filter((c) => c.name === name)),
          ...phase.selection.images.flatMap((name) => image(name).hostCommands),
        ];
        const registryChecks = phase.selection.images.flatMap((name) => (checked.get(name)?.length ? [{ image: name, tags: checked.get(name)! }] : []));
        return {
          kind: 'build',
          images: phase.selection.images,
          commands: commands.map((c) => plannedCommand(c, freshness)),
          ...(phase.forAction ? { forAction: phase.forAction } : {}),
          ...(registryChecks.length ? { registryChecks } : {}),
        };
      }
      const names = targets.map((i) => i.name);
      if (phase.action === 'deploy' || phase.action === 'deploy_latest') {
        const action = phase.action;
        return { kind: 'action', action, images: names, pushes: targets.flatMap((i) => tagsToPush(action, i).map((tag) => pushTarget(i, tag))) };
      }
      const action = phase.action;
      return { kind: 'action', action, images: names, removes: targets.flatMap((i) => removes(action, i, plan.projectDir)) };
    }),
    images: selected.images.map((name) => plannedImage(image(name))),
  };
}

function removes(action: 'rmi' | 'clean' | 'distclean', image: ImagePlan, projectDir: string): string[] {
  const files = () => pathsToClean(image).outputs.map((o) => (o.startsWith(`${projectDir}/`) ? o.slice(projectDir.length + 1) : o));
  if (action === 'rmi') return tagsToRemove(image);
  if (action === 'clean') return files();
  return [...tagsToRemove(image), ...files()];
}

function plannedCommand(planned: HostCommand, freshness: Freshness): PlannedCommand {
  const fresh = freshness(planned);
  const command = fresh?.asRun ?? planned;
  return {
    image: command.image,
    ...(command.name ? { name: command.name } : {}),
    cwd: command.cwd,
    env: command.env,
    command: pasteableCommand(command),
    ...(fresh ? { upToDate: fresh.upToDate, ...(fresh.reason ? { reason: fresh.reason } : {}) } : {}),
  };
}

function plannedImage(image: ImagePlan): PlannedImage {
  return {
    name: image.name,
    base: image.base.kind === 'ref' ? image.base.ref : image.from,
    dependsOn: image.dependsOn,
    tags: image.tags,
    ...(image.platforms ? { platforms: image.platforms } : {}),
    dockerfile: image.dockerfile,
  };
}
