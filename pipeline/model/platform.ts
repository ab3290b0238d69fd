// Platforms as buildx and OCI image indexes write them (`linux/arm64`, `linux/arm/v7`), and what a host
// command is given to compile for one: Go's GOOS, GOARCH and GOARM.

/** `os/arch[/variant]`. */
export const PLATFORM_PATTERN = /^[a-z0-9]+\/[a-z0-9]+(\/[a-z0-9]+)?$/;

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export function parsePlatform(text: string): Platform {
  const [os = '', architecture = '', variant] = text.split('/');
  return { os, architecture, ...(variant ? { variant } : {}) };
}

export function formatPlatform({ os, architecture, variant }: Platform): string {
  return [os, architecture, ...(variant ? [variant] : [])].join('/');
}

/** The environment that makes Go compile for the platform; GOARM is the variant's number (`v7` → `7`). */
export function goEnv(text: string): Record<string, string> {
  const { os, architecture, variant } = parsePlatform(text);
  return { GOOS: os, GOARCH: architecture, ...(architecture === 'arm' && variant ? { GOARM: variant.replace(/^v/, '') } : {}) };
}

// The kernel's names (GET /info's Architecture, uname -m) for what OCI calls amd64, arm64 and arm.
const KERNEL_ARCH: Readonly<Record<string, string>> = {
  x86_64: 'amd64',
  aarch64: 'arm64',
  armv7l: 'arm',
  i686: '386',
  i386: '386',
  s390x: 's390x',
  ppc64le: 'ppc64le',
};

/** An engine's own platform from its OSType and Architecture (`linux`, `x86_64` → `linux/amd64`). */
export function enginePlatform(osType: string, architecture: string): string {
  return `${osType}/${KERNEL_ARCH[architecture] ?? architecture}`;
}

/** Whether an image of `wanted` runs its commands natively on `native`, without emulation (a variant does not matter). */
export function runsNatively(wanted: string, native: string): boolean {
  const a = parsePlatform(wanted);
  const b = parsePlatform(native);
  return a.os === b.os && a.architecture === b.architecture;
}

/**
 * The config's sections with every image's `platforms` set to those of the command line (`--platform`, as
 * buildx's sets every target's): applied before the schema and the plan, so that a remembered plan is
 * found only by a run with the same platforms.
 */
export function withPlatforms(interpolated: Record<string, unknown>, platforms: readonly string[] | undefined): Record<string, unknown> {
  const images = interpolated['images'];
  if (platforms === undefined || typeof images !== 'object' || images === null) return interpolated;
  const set = Object.fromEntries(
    Object.entries(images as Record<string, unknown>).map(([name, image]) => [
      name,
      typeof image === 'object' && image !== null ? { ...image, platforms: [...platforms] } : image,
    ]),
  );
  return { ...interpolated, images: set };
}
