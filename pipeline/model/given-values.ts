// Values given on the command line (--set) or taken from the environment never reach a file the tool
// writes: people pass tokens with --set out of make's habit (`make TOKEN=...`), and the tool's caches and
// state files outlive the run (the lock is even committed). A cache that needs such a value keys on its
// digest, and text that holds one (a remembered plan, an edited file) is kept with a placeholder in its
// place, the value put back when it is read, by a run that has the same values (the key says so).
import { createHash } from 'node:crypto';

/** A variable's name and the value it was given; only non-empty values, longest first. */
export type GivenValues = readonly (readonly [name: string, value: string])[];

export function givenValues(variables: ReadonlyMap<string, { value: string; source: string }>, env: Readonly<Record<string, string | undefined>>): GivenValues {
  const given = [...variables].filter(
    ([name, v]) => v.value !== '' && (v.source === '--set' || v.source === 'environment' || (name === 'USER' && env['USER'] === v.value)),
  );
  return given.map(([name, v]) => [name, v.value] as const).sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1));
}

/** A digest of the values, for a key: two runs with other values never share what depends on them. */
export function givenDigest(given: GivenValues): string {
  return createHash('sha256').update(JSON.stringify(given)).digest('hex');
}

/** Whether `text` holds one of the values. */
export function holdsGiven(text: string, given: GivenValues): boolean {
  return given.some(([, value]) => text.includes(value));
}

const token = (name: string) => `@@build-images:given:${name}@@`;

/**
 * `text` with every given value (as it is written inside a JSON string, when `json`) replaced by its
 * placeholder; undefined when that cannot be undone exactly, or leaves a value in: then nothing is kept.
 */
export function concealGiven(text: string, given: GivenValues, json = false): string | undefined {
  if (given.length === 0) return text;
  if (text.includes('@@build-images:given:')) return undefined;
  const written = (value: string) => (json ? JSON.stringify(value).slice(1, -1) : value);
  let concealed = text;
  for (const [name, value] of given) concealed = concealed.replaceAll(written(value), token(name));
  if (given.some(([, value]) => concealed.includes(value) || concealed.includes(written(value)))) return undefined;
  return revealGiven(concealed, given, json) === text ? concealed : undefined;
}

/** The text concealGiven made, with the values back in. */
export function revealGiven(text: string, given: GivenValues, json = false): string {
  let revealed = text;
  for (const [name, value] of given) revealed = revealed.replaceAll(token(name), json ? JSON.stringify(value).slice(1, -1) : value);
  return revealed;
}
