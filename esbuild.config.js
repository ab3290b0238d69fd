// `npm run build`: the CLI as one bundle, with a chunk for each part that loads later (the builders, the
// terminal view). A run used to resolve ~100 ES modules one by one. dockerode stays outside, loaded only by
// the classic builder, pulls and pushes; so does the CycloneDX library (below).
import { createHash } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const OUT = 'dist/pipeline/cli';

// zod's ~40 translations of its messages are half the bundle (360 KB); we speak English only, and parsing
// the rest cost every run ~0.05 s of CPU. zod imports them all through locales/index.js: that module, as
// zod sees it, holds English alone.
const englishOnly = {
  name: 'zod-english-only',
  setup(bundler) {
    bundler.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${path.sep}zod${path.sep}`)
        ? { path: path.join(path.dirname(args.importer), '../locales/index.js'), namespace: 'zod-locales' }
        : undefined,
    );
    bundler.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: "export { default as en } from './en.js';",
      resolveDir: path.dirname(args.path),
    }));
  },
};

// What this build is made of: a config prepared by one build is not trusted by another (prepared-cache.ts).
function buildId() {
  const hash = createHash('sha256');
  const files = ['pipeline', 'steps'].flatMap((dir) => readdirSync(dir, { recursive: true }).map((f) => path.join(dir, f)));
  for (const file of [...files.filter((f) => f.endsWith('.ts')).sort(), 'package-lock.json']) hash.update(`${file}\0`).update(readFileSync(file));
  return hash.digest('hex').slice(0, 16);
}

// Chunks are named by their content: without this, every build would leave the last one's beside its own.
rmSync(OUT, { recursive: true, force: true });
await build({
  entryPoints: ['pipeline/cli/main.ts'],
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // The CycloneDX library stays outside too: loaded only when a document is made, and its optional XML and
  // validation plug-ins (libxmljs2, xmlbuilder2, ajv) are looked up at run time, which a bundle cannot do.
  external: ['dockerode', '@cyclonedx/cyclonedx-library'],
  // Bundled CommonJS (yaml) calls require(); an ES module has none of its own.
  banner: { js: "import { createRequire as __biRequire } from 'node:module'; const require = __biRequire(import.meta.url);" },
  plugins: [englishOnly],
  define: { BUILD_IMAGES_BUILD_ID: JSON.stringify(buildId()) },
  logLevel: 'warning',
});
chmodSync(path.join(OUT, 'main.js'), 0o755);
