// Which machine builds an image, and how many each builds at once. An image built on another image of the
// graph goes where that image is (affinity): the base is already there, and moving it through a registry
// would push what the line may never push (a build without deploy), with a round trip and the registry's
// credentials per hop; a chain is built one after another anyway. A base that was up to date in a registry
// is pulled by whichever builder builds on it, so that image goes anywhere. Any other image goes, among the
// builders for its platform that are still there, where its earlier build is (its tag on that engine: the
// "up to date" check and the layer cache are there), even when that one is busy: placed elsewhere it would
// be built again from nothing. Only an image with no earlier build on any of them goes where the free
// capacity is largest (in-flight images per slot, the config's order breaking ties).
import { RunError } from '../model/errors.ts';
import type { BuildMachine } from '../engine/engine.ts';

interface Slot {
  machine: BuildMachine;
  /** Images placed on it and not done: building, or waiting for one of its slots. */
  load: number;
  running: number;
  waiting: (() => void)[];
  lost: boolean;
}

export interface PlaceRequest {
  /** The builder that holds the image's base, when the base is an image of the graph on an engine. */
  with?: string;
  /** The platform the image is for; undefined: any builder. */
  platform?: string;
  /** The platforms the image is for (config `platforms:`): a builder must list every one of them. */
  platforms?: readonly string[];
  /** Builders whose engine holds the image's earlier build. */
  prefer?: ReadonlySet<string>;
}

export interface Placed {
  machine: BuildMachine;
  slot(): Promise<void>;
  /** Frees its slot (or its place in the queue): safe to call twice. */
  done(): void;
}

export interface BuilderPool {
  readonly machines: readonly BuildMachine[];
  /** Places an image (a RunError when none can take it); it waits for a slot there, and is done when its build is over. */
  place(request: PlaceRequest): Placed;
  /** The builder did not answer after a failure: nothing more is placed on it. */
  lose(name: string): void;
  isLost(name: string): boolean;
}

export function builderPool(machines: readonly BuildMachine[]): BuilderPool {
  const slots = machines.map((machine): Slot => ({ machine, load: 0, running: 0, waiting: [], lost: false }));
  const byName = new Map(slots.map((slot) => [slot.machine.name, slot]));
  return {
    machines,
    place(request) {
      const slot = byName.get(chooseBuilder(slots, request))!;
      slot.load++;
      let state: 'placed' | 'running' | 'done' = 'placed';
      return {
        machine: slot.machine,
        async slot() {
          // A freed slot is handed to the next waiter as it is (running stays), so that none is taken twice.
          if (slot.running < slot.machine.capacity) slot.running++;
          else await new Promise<void>((resolve) => slot.waiting.push(resolve));
          state = 'running';
        },
        done() {
          if (state === 'done') return;
          if (state === 'running') {
            const next = slot.waiting.shift();
            if (next) next();
            else slot.running--;
          }
          slot.load--;
          state = 'done';
        },
      };
    },
    lose(name) {
      byName.get(name)!.lost = true;
    },
    isLost: (name) => byName.get(name)?.lost ?? false,
  };
}

export interface BuilderState {
  machine: Pick<BuildMachine, 'name' | 'capacity' | 'platforms' | 'loadsInto'>;
  load: number;
  lost: boolean;
}

/** The pure choice: a builder's name, or a RunError saying why none fits. */
export function chooseBuilder(slots: readonly BuilderState[], request: PlaceRequest): string {
  if (request.with !== undefined) {
    const built = slots.find((slot) => slot.machine.name === request.with);
    // A buildkitd's images are in the local engine: an image on one of them is built there, if it builds.
    const where = built?.machine.loadsInto ? built.machine.loadsInto.builder : request.with;
    if (built?.machine.loadsInto && where === undefined) {
      throw new RunError(
        `not built: its base was built by buildkitd ${request.with} and is in the local engine, which a buildkitd cannot build on`,
        "add the local engine (DOCKER_HOST) to builders: as a builder of kind engine: it builds what builds on a buildkitd's images",
      );
    }
    const holder = slots.find((slot) => slot.machine.name === where);
    if (!holder || holder.lost) throw new RunError(`not built: builder ${where}, which holds its base, is gone`);
    return where!;
  }
  const wanted = request.platforms ?? (request.platform === undefined ? [] : [request.platform]);
  const fit = slots.filter((slot) => !slot.lost && (!slot.machine.platforms || wanted.every((p) => slot.machine.platforms!.includes(p))));
  if (fit.length === 0) {
    const gone = slots.filter((slot) => slot.lost).map((slot) => slot.machine.name);
    throw new RunError(
      wanted.length > 0 && slots.every((slot) => slot.lost || slot.machine.platforms)
        ? `not built: no builder that is still there builds for ${wanted.join(' and ')}`
        : `not built: every builder is gone (${gone.join(', ')})`,
      wanted.length > 0 ? 'add a builder for that platform to builders:, or leave a builder without platforms:' : undefined,
    );
  }
  const free = (slot: BuilderState) => slot.load / slot.machine.capacity;
  const preferred = fit.filter((slot) => request.prefer?.has(slot.machine.name));
  return (preferred.length > 0 ? preferred : fit).reduce((best, slot) => (free(slot) < free(best) ? slot : best)).machine.name;
}
