// The run's record of image inputs and its DocumentsFor, wired from the prepared config and the command
// line. The document modules (and the CycloneDX library) are loaded only when a document is asked for.
import { readFile } from 'node:fs/promises';
import { createHash, randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Prepared } from '../config/prepare.ts';
import { enclosingGitHead } from '../config/git-head.ts';
import type { DocumentsFor } from '../attest/attestation.ts';
import { documentChoice, type DocumentFlags } from '../attest/document-choice.ts';
import { inputLog, type InputLog } from '../attest/inventory.ts';
import type { RunFacts } from '../attest/documents.ts';
import type { RunServices } from '../run/services.ts';

// A --set variable with such a word in its name (DEPLOY_TOKEN, NPM_AUTH, API_KEY; not AUTHOR, MONKEY) is taken
// for a secret: its name goes into the provenance, its value not, and no document may hold the value.
const SECRET_NAME = /(^|_)(PASS|PASSWD|PASSWORD|TOKEN|SECRET|KEY|AUTH|CRED|CREDS|CREDENTIALS?)(_|$)/i;

export interface DocumentContext {
  prepared: Prepared;
  configFile: string;
  targets: readonly string[];
  flags: DocumentFlags;
  /** The run's secret values so far (the mask's). */
  secrets(): readonly string[];
  startedOn: string;
}

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

export function documentServices(
  context: DocumentContext,
  services: () => Pick<RunServices, 'images' | 'builder'>,
): { inputs: InputLog; documents: DocumentsFor; warmDocuments: () => void } {
  const { prepared } = context;
  const sets = [...prepared.variables].filter(([, v]) => v.source === '--set');
  const secretSets = () => sets.filter(([name, v]) => SECRET_NAME.test(name) || context.secrets().includes(v.value)).map(([name]) => name);
  const secrets = () => [
    ...context.secrets(),
    ...sets
      .filter(([name]) => secretSets().includes(name))
      .map(([, v]) => v.value)
      .filter((v) => v.length >= 4),
  ];
  let facts: Promise<RunFacts> | undefined;
  const run = () => (facts ??= runFacts(context, services(), secretSets()));
  const inputs = inputLog();
  let made: Promise<DocumentsFor> | undefined;
  const load = () =>
    (made ??= Promise.all([import('../attest/documents.ts'), import('../attest/go-modules.ts'), import('../run/host-command.ts')]).then(
      ([{ documentsFor }, { goBinaryInfo }, { resolveCommand }]) =>
        documentsFor({
          plan: prepared.plan,
          inputs,
          images: services().images,
          choice: (image) => documentChoice(context.flags, prepared.config.attestations, prepared.config.images[image]?.attestations),
          run,
          secrets,
          async goInfo(binary, command) {
            // The GOPATH link made as for a run: an image decided before its go build (a new clone) has none yet.
            const asRun = await resolveCommand(command);
            const checkout = command.gopath?.checkout ?? command.cwd;
            const commit = enclosingGitHead(checkout);
            return { ...(await goBinaryInfo(binary, asRun)), source: { importPath: command.gopath?.importPath ?? '', ...(commit ? { commit } : {}) } };
          },
        }),
    ));
  return {
    inputs,
    documents: async (image, subject) => (await load())(image, subject),
    // A failure to load is told by the documents' own call.
    warmDocuments: () => void load().catch(() => {}),
  };
}

async function runFacts(context: DocumentContext, services: Pick<RunServices, 'images' | 'builder'>, secretNames: readonly string[]): Promise<RunFacts> {
  const { prepared } = context;
  const projectDir = prepared.plan.projectDir;
  const config = await readFile(context.configFile);
  const store = await services.images.imageIds().catch(() => undefined);
  const engineVersion = await services.images.engineVersion?.().catch(() => undefined);
  const project = enclosingGitHead(projectDir);
  const sources = Object.entries(prepared.config.sources).flatMap(([name, dir]) => {
    const at = path.resolve(projectDir, dir);
    const commit = enclosingGitHead(at);
    return commit ? [{ name: `source ${name}`, uri: `git+file://${at}`, commit }] : [];
  });
  return {
    config: { path: path.relative(projectDir, path.resolve(context.configFile)), sha256: createHash('sha256').update(config).digest('hex') },
    targets: context.targets,
    variables: [...prepared.variables]
      .filter(([, v]) => v.source === '--set')
      .map(([name, v]) => (secretNames.includes(name) ? { name } : { name, value: v.value })),
    builder: services.builder.name,
    ...(store ? { imageStore: store === 'manifest' ? 'containerd' : 'graphdriver' } : {}),
    ...(engineVersion ? { engineVersion } : {}),
    commits: [...(project ? [{ name: 'project', uri: `git+${prepared.config.source ?? `file://${projectDir}`}`, commit: project }] : []), ...sources],
    invocationId: randomUUID(),
    startedOn: context.startedOn,
  };
}
