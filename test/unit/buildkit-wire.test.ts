// The session's messages and BuildKit's progress, encoded and decoded by hand (protobuf-wire.ts), against
// protobufjs reading the upstream field numbers: random messages both ways, integers at every width, and
// fields we do not read skipped.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeStatus } from '../../pipeline/engine/buildkit/status-proto.ts';
import { authService, fileSyncService, healthService, secretsService, statPacket, type Stat } from '../../pipeline/engine/buildkit/session-services.ts';
import { WireReader } from '../../pipeline/engine/buildkit/protobuf-wire.ts';
import { reference } from '../support/protobuf-reference.ts';
import { seededRandom } from '../support/random.ts';

const random = seededRandom(7);
const pick = <T>(values: readonly T[]): T => values[random(values.length)]!;
const text = () => pick(['', 'a', 'sha256:0f3c', '[2/4] COPY files /files', 'ünïcode ☃ 𝄞', 'x'.repeat(300)]);
const bytes = () => Buffer.from(pick(['', 'hello\n', 'line\r\n', '\u0000\u00ff', 'y'.repeat(1000)]));
const unsigned32 = () => pick([0, 1, 127, 128, 16_383, 16_384, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1]);
const int64 = () => pick([0, 1, 300, 2 ** 32, 2 ** 53 - 1, 2 ** 53 + 2, 1_796_269_656_827_123_000, 2 ** 63 - 2 ** 11, -1, -(2 ** 40)]);
const maybe = <T>(make: () => T): T | undefined => (random(3) === 0 ? undefined : make());
const timestamp = () => ({ seconds: pick([0, 1, 1_796_269_656, 2 ** 40]), nanos: pick([0, 1, 999_999_999]) });

/** Bytes as hex, absent messages and empty maps as undefined: how each side says the same thing. */
function plain(value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (plain(v) !== undefined) out[k] = plain(v);
    return Object.keys(out).length === 0 && Object.keys(value).length === 0 ? undefined : out;
  }
  return value;
}

const without = (value: Record<string, unknown>, ...keys: string[]) => Object.fromEntries(Object.entries(value).filter(([k]) => !keys.includes(k)));

test('a StatusResponse protobufjs encodes decodes the same, fields we do not read skipped', () => {
  const Status = reference('StatusResponse');
  for (let i = 0; i < 300; i++) {
    const message = {
      vertexes: Array.from({ length: random(4) }, () => ({
        digest: text(),
        inputs: Array.from({ length: random(3) }, text),
        name: text(),
        cached: random(2) === 1,
        started: maybe(timestamp),
        completed: maybe(timestamp),
        error: text(),
        progressGroup: maybe(() => ({ id: text(), name: text(), weak: true })),
      })),
      statuses: Array.from({ length: random(3) }, () => ({
        ID: text(),
        vertex: text(),
        name: text(),
        current: Math.abs(int64()),
        total: Math.abs(int64()),
        timestamp: maybe(timestamp),
        started: maybe(timestamp),
        completed: maybe(timestamp),
      })),
      logs: Array.from({ length: random(3) }, () => ({ vertex: text(), timestamp: maybe(timestamp), stream: pick([1, 2]), msg: bytes() })),
      warnings: Array.from({ length: random(2) }, () => ({
        vertex: text(),
        level: pick([0, 1, 3]),
        short: bytes(),
        detail: Array.from({ length: random(3) }, bytes),
        url: text(),
        info: maybe(() => ({ filename: 'Dockerfile', data: bytes(), language: 'Dockerfile' })),
      })),
    };
    const encoded = Status.encode(message);
    const expected = Status.decode(encoded) as { vertexes: Record<string, unknown>[]; warnings: Record<string, unknown>[] };
    const trimmed = {
      ...expected,
      vertexes: expected.vertexes.map((v) => without(v, 'progressGroup')),
      warnings: expected.warnings.map((w) => without(w, 'info')),
    };
    assert.equal(plain(decodeStatus(encoded)), plain(trimmed), `message ${i}`);
  }
});

test('session messages: ours decode what protobufjs encodes, and protobufjs decodes what ours encode', () => {
  const cases = [
    {
      method: healthService.Check,
      request: 'HealthCheckRequest',
      response: 'HealthCheckResponse',
      req: () => ({ service: text() }),
      res: () => ({ status: pick([0, 1, 2, -1]) }),
    },
    {
      method: authService.Credentials,
      request: 'CredentialsRequest',
      response: 'CredentialsResponse',
      req: () => ({ Host: pick(['registry-1.docker.io', '127.0.0.1:5000', '']) }),
      res: () => ({ Username: text(), Secret: text() }),
    },
    {
      method: secretsService.GetSecret,
      request: 'GetSecretRequest',
      response: 'GetSecretResponse',
      req: () => ({ ID: text() }),
      res: () => ({ data: bytes() }),
    },
  ] as const;
  for (const c of cases) {
    for (let i = 0; i < 50; i++) {
      const req = c.req();
      const res = c.res();
      const method = c.method as unknown as {
        requestSerialize(v: unknown): Buffer;
        requestDeserialize(b: Buffer): unknown;
        responseSerialize(v: unknown): Buffer;
        responseDeserialize(b: Buffer): unknown;
      };
      assert.equal(
        plain(method.requestDeserialize(reference(c.request).encode(req))),
        plain(reference(c.request).decode(reference(c.request).encode(req))),
        c.request,
      );
      assert.equal(
        plain(reference(c.request).decode(method.requestSerialize(req))),
        plain(reference(c.request).decode(reference(c.request).encode(req))),
        c.request,
      );
      assert.equal(
        plain(reference(c.response).decode(method.responseSerialize(res))),
        plain(reference(c.response).decode(reference(c.response).encode(res))),
        c.response,
      );
      assert.equal(
        plain(method.responseDeserialize(reference(c.response).encode(res))),
        plain(reference(c.response).decode(reference(c.response).encode(res))),
        c.response,
      );
    }
  }
  // The annotations map of a GetSecretRequest is skipped.
  assert.equal(secretsService.GetSecret.requestDeserialize(reference('GetSecretRequest').encode({ ID: 'id', annotations: { k: 'v' } })), { ID: 'id' });
});

test('fsutil packets both ways, with stats at every integer width; device numbers and xattrs skipped', () => {
  const Packet = reference('Packet');
  const { DiffCopy } = fileSyncService;
  for (let i = 0; i < 300; i++) {
    const stat: Stat | undefined = maybe(() => ({
      path: text(),
      mode: unsigned32(),
      uid: unsigned32(),
      gid: unsigned32(),
      size: int64(),
      modTime: int64(),
      linkname: text(),
    }));
    const packet = { type: pick([0, 1, 2, 3, 4]), ID: unsigned32(), data: bytes(), ...(stat ? { stat } : {}) };
    const expected = plain(Packet.decode(Packet.encode(packet)));
    const drop = (p: unknown) => {
      const o = p as { stat?: Record<string, unknown> };
      return o.stat ? { ...o, stat: without(o.stat, 'devmajor', 'devminor', 'xattrs') } : o;
    };
    assert.equal(
      plain(DiffCopy.requestDeserialize(Packet.encode({ ...packet, ...(stat ? { stat: { ...stat, devmajor: 3, xattrs: { a: Buffer.from('b') } } } : {}) }))),
      drop(expected),
      `decoded ${i}`,
    );
    assert.equal(drop(plain(Packet.decode(DiffCopy.responseSerialize(packet)))), drop(expected), `encoded ${i}`);
    if (stat) assert.equal(drop(plain(Packet.decode(statPacket(stat)))), drop(plain(Packet.decode(Packet.encode({ type: 0, stat })))), `STAT ${i}`);
  }
});

test('broken bytes are refused, not read past', () => {
  for (const broken of [[0x0a, 5, 0x61], [0x08], [0x08, 0x80, 0x80], [0x0b], Array(11).fill(0xff)]) {
    assert.throws(() => decodeStatus(Buffer.from(broken)), undefined, JSON.stringify(broken));
  }
  const reader = new WireReader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
  assert.is(reader.int64(), -1, 'ten bytes of a negative int64');
});

test.run();
