import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PROJECT, prepareText, yaml } from '../support/config.ts';

const { plan } = prepareText(yaml`
source: https://example.test/repo
variables:
  TAG: '1.0'
images:
  base: { base: ubuntu:16.04, tags: ['acme/base:\${TAG}', 'acme/base:stable'] }
  app:
    base: { image: base }
    tags: ['registry.test:5000/acme/app:\${TAG}']
    args: { GO_VERSION: '1.19' }
    labels: { team: infra, cost: '$5' }
    steps:
      - command: { run: [go, build], cwd: src, inputs: [src], outputs: [src/app] }
      - copy: { from: src/app, to: /usr/bin/app, mode: '0755' }
      - copy: { from: conf, to: /etc/app/, owner: app, exclude: ['*.md'] }
      - mkdir: { path: /var/lib/app, owner: 'app:staff', mode: '0750' }
      - env: { MODE: 'prod "x"' }
      - run: make install
      - workdir: /srv
      - user: app
      - expose: [8080, '53/udp']
      - entrypoint: [/usr/bin/app]
      - cmd: []
`);

test('the Dockerfile is generated line by line, exec form where it matters', () => {
  assert.is(
    plan.images.get('app')!.dockerfile,
    [
      'FROM acme/base:1.0',
      'ARG GO_VERSION',
      'COPY ["s01-copy/app", "/usr/bin/app"]',
      'COPY --chown=app:app ["s02-copy/conf", "/etc/app/"]',
      'COPY --chown=app:staff ["s03-mkdir/dir/", "/var/lib/app/"]',
      'ENV MODE="prod \\"x\\""',
      'RUN ["/bin/sh", "-c", "make install"]',
      'WORKDIR "/srv"',
      'USER app',
      'EXPOSE 8080 53/udp',
      'ENTRYPOINT ["/usr/bin/app"]',
      'CMD []',
      'ARG BI_DIGEST BI_BASE BI_ARGS BI_INPUTS BI_CREATED BI_REVISION BI_BASE_NAME BI_BASE_DIGEST',
      'LABEL "org.opencontainers.image.title"="app" "org.opencontainers.image.version"="1.0" "org.opencontainers.image.source"="https://example.test/repo" "team"="infra" "cost"="\\$5" "build-images.image"="app" ' +
        '"build-images.digest"="${BI_DIGEST}" "build-images.base"="${BI_BASE}" "build-images.args"="${BI_ARGS}" "build-images.inputs"="${BI_INPUTS}" ' +
        '"org.opencontainers.image.created"="${BI_CREATED}" "org.opencontainers.image.revision"="${BI_REVISION}" ' +
        '"org.opencontainers.image.base.name"="${BI_BASE_NAME}" "org.opencontainers.image.base.digest"="${BI_BASE_DIGEST}"',
      '',
    ].join('\n'),
  );
});

test('the context holds the Dockerfile and each step under a folder of its own', () => {
  const context = plan.images.get('app')!.context;
  assert.equal(
    context.map((c) => [c.kind, c.name]),
    [
      ['bytes', 'Dockerfile'],
      ['path', 's01-copy/app'],
      ['path', 's02-copy/conf'],
      ['dir', 's03-mkdir/dir'],
    ],
  );
  const copy = context[1]!;
  assert.is(copy.kind === 'path' && copy.path, `${PROJECT}/src/app`);
  assert.is(copy.kind === 'path' && copy.mode, 0o755);
});

test('a copy of the whole project or of a source root gets a name of its own in the context', () => {
  const { plan: edge } = prepareText(yaml`
sources:
  px: ../px
images:
  app:
    base: a
    tags: [x]
    steps:
      - copy: { from: ., to: /srv/ }
      - copy: { from: 'px:', to: /opt/px/ }
      - copy: { from: conf, to: / }
`);
  assert.equal(
    edge.images
      .get('app')!
      .dockerfile.split('\n')
      .filter((l) => l.startsWith('COPY')),
    ['COPY ["s00-copy/content", "/srv/"]', 'COPY ["s01-copy/content", "/opt/px/"]', 'COPY ["s02-copy/conf", "/"]'],
  );
});

test('a name COPY would read as a glob goes into the context under one it reads literally, kept whole inside it when copied into a directory', () => {
  const { plan: globs } = prepareText(yaml`
images:
  app:
    base: a
    tags: [x]
    steps:
      - copy: { from: 'pages/[id].tsx', to: /app/pages/ }
      - copy: { from: pages/index.tsx, to: '/app/pages/[slug]*.tsx' }
      - copy: { from: pages/index.tsx, to: /app/pages/ }
`);
  const app = globs.images.get('app')!;
  assert.equal(
    app.dockerfile.split('\n').filter((l) => l.startsWith('COPY')),
    ['COPY ["s00-copy/_id_.tsx", "/app/pages/"]', 'COPY ["s01-copy/_slug__.tsx", "/app/pages/[slug]*.tsx"]', 'COPY ["s02-copy/index.tsx", "/app/pages/"]'],
  );
  const wrapped = app.context.filter((c) => c.kind === 'path').map((c) => c.kind === 'path' && Boolean(c.wrapFile));
  assert.equal(wrapped, [true, false, false], 'only the copy into a directory of a name that changed is wrapped');
});

test('host commands resolve against the project', () => {
  const [command] = plan.images.get('app')!.hostCommands;
  assert.is(command!.cwd, `${PROJECT}/src`);
  assert.equal(command!.outputs, [`${PROJECT}/src/app`]);
});

test("an image built on another depends on it; OCI labels and the config's name of the image come with the plan", () => {
  const app = plan.images.get('app')!;
  assert.equal(app.dependsOn, ['base']);
  assert.equal(app.labels, {
    'org.opencontainers.image.title': 'app',
    'org.opencontainers.image.version': '1.0',
    'org.opencontainers.image.source': 'https://example.test/repo',
    team: 'infra',
    cost: '$5',
    'build-images.image': 'app',
  });
  assert.equal(plan.images.get('base')!.tags, ['acme/base:1.0', 'acme/base:stable']);
});

test.run();
