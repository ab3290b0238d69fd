// Field schemas shared by several step kinds.
import { z } from 'zod';

/** An octal mode as a quoted string: YAML 1.2 reads an unquoted 0755 as the decimal number 755. */
export const modeField = z
  .string()
  .regex(/^0?[0-7]{3,4}$/, "a mode is an octal string such as '0755'")
  .transform((s) => parseInt(s, 8))
  .describe("file mode in octal, quoted: '0755'");

/** `user`, `user:group`, or numeric ids, as COPY --chown takes them. */
export const ownerField = z
  .string()
  .regex(/^[A-Za-z0-9_.][A-Za-z0-9_.-]*(:[A-Za-z0-9_.][A-Za-z0-9_.-]*)?$/, 'an owner is user or user:group')
  .describe('owner of what is copied: user or user:group (names are looked up in the image)');

/**
 * A value that is written into a Dockerfile line (or a line of an edited file). The Dockerfile parser is
 * line-based and no escape carries a line break, so one is refused here, where the config names the field,
 * rather than turning the rest of the value into an instruction of its own.
 */
export const singleLine = (why: string) => z.string().regex(/^[^\n\r]*$/, `a line break cannot go here: ${why}`);
export const lineField = singleLine('the value is written into one line of the Dockerfile');

/** An absolute path inside the image. */
export const imagePathField = lineField.regex(/^\//, 'a path in the image is absolute: it starts with /');

export const commandField = z.union([z.string().min(1), z.array(z.string()).min(1)]);
/** A secret's id: its file under /run/secrets/ in a RUN that mounts it, and a word of the mount flag. */
export const secretId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'a secret id is letters, digits, _, . and -');

export function chownFlag(owner: string | undefined): string[] {
  if (!owner) return [];
  return [`--chown=${owner.includes(':') ? owner : `${owner}:${owner}`}`];
}
