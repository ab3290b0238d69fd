// The messages of moby/buildkit's api/services/control/control.proto (and api/types/worker.proto) that a
// build through the Control API sends and reads: SolveRequest, StatusRequest, SolveResponse, ListWorkers.
// By hand on protobuf-wire.ts, field numbers as upstream; checked against protobufjs in the unit tests.
// A map<string, string> is on the wire a repeated message of key 1 and value 2.
import { readMessage, WireWriter } from './protobuf-wire.ts';

export const CONTROL = {
  solve: '/moby.buildkit.v1.Control/Solve',
  status: '/moby.buildkit.v1.Control/Status',
  session: '/moby.buildkit.v1.Control/Session',
  listWorkers: '/moby.buildkit.v1.Control/ListWorkers',
} as const;

export interface CacheEntry {
  /** inline, registry, local */
  type: string;
  attrs: Readonly<Record<string, string>>;
}

export interface SolveRequest {
  ref: string;
  session: string;
  frontend: string;
  frontendAttrs: Readonly<Record<string, string>>;
  /** Sent both as the old single exporter (fields 3/4) and as Exporters (13): BuildKit before 0.13 reads only the first. */
  exporter: CacheEntry;
  cacheExports: readonly CacheEntry[];
  cacheImports: readonly CacheEntry[];
}

const LEN = 2;

function map(w: WireWriter, field: number, values: Readonly<Record<string, string>>): void {
  for (const [key, value] of Object.entries(values)) {
    const entry = new WireWriter(64);
    entry.string(1, key);
    entry.string(2, value);
    message(w, field, entry.view());
  }
}

/** A nested message, written even when empty (an empty map entry, an empty CacheOptions are still sent). */
function message(w: WireWriter, field: number, bytes: Uint8Array): void {
  w.byte((field << 3) | LEN);
  w.varint(bytes.length);
  w.raw(bytes);
}

function typedEntry(type: string, attrs: Readonly<Record<string, string>>): Buffer {
  const w = new WireWriter(128);
  w.string(1, type);
  map(w, 2, attrs);
  return w.take();
}

export function encodeSolveRequest(request: SolveRequest, exporterFields: 'both' | 'old' | 'new' = 'both'): Buffer {
  const w = new WireWriter(1024);
  w.string(1, request.ref);
  if (exporterFields !== 'new') {
    w.string(3, request.exporter.type);
    map(w, 4, request.exporter.attrs);
  }
  w.string(5, request.session);
  w.string(6, request.frontend);
  map(w, 7, request.frontendAttrs);
  const cache = new WireWriter(256);
  // Exports go in Exports (4) only: every BuildKit behind the Control API (0.6 on, Engine 19.03 on) reads it,
  // and the daemon appends ExportRefDeprecated (1) to Exports without looking (translateLegacySolveRequest's
  // FIXME), so filling both would export the cache twice.
  for (const e of request.cacheExports) message(cache, 4, typedEntry(e.type, e.attrs));
  // BuildKit before 0.4 read registry imports from ImportRefsDeprecated (2) only; buildx still fills both.
  for (const e of request.cacheImports) if (e.type === 'registry' && e.attrs['ref']) cache.string(2, e.attrs['ref']);
  for (const e of request.cacheImports) message(cache, 5, typedEntry(e.type, e.attrs));
  // CacheOptions is not nullable upstream: an empty one is sent as an empty message.
  message(w, 8, cache.view());
  if (exporterFields !== 'old') message(w, 13, typedEntry(request.exporter.type, request.exporter.attrs));
  return w.take();
}

export function encodeStatusRequest(ref: string): Buffer {
  const w = new WireWriter(64);
  w.string(1, ref);
  return w.take();
}

function readMap(bytes: Uint8Array, into: Record<string, string>): void {
  let key = '';
  let value = '';
  readMessage(bytes, (r, field, wire) => {
    if (wire !== LEN || (field !== 1 && field !== 2)) return false;
    if (field === 1) key = r.string();
    else value = r.string();
    return true;
  });
  into[key] = value;
}

/** SolveResponse: ExporterResponse = 1 (containerimage.digest, …). */
export function decodeSolveResponse(bytes: Uint8Array): Record<string, string> {
  const response: Record<string, string> = {};
  readMessage(bytes, (r, field, wire) => field === 1 && wire === LEN && (readMap(r.bytesField(), response), true));
  return response;
}

export interface Platform {
  os: string;
  architecture: string;
  variant: string;
}

export interface WorkerRecord {
  id: string;
  labels: Record<string, string>;
  platforms: Platform[];
  /** BuildKit's version (BuildkitVersion.version, field 5 of WorkerRecord); empty before BuildKit 0.11. */
  buildkitVersion: string;
}

export function decodeListWorkersResponse(bytes: Uint8Array): WorkerRecord[] {
  const records: WorkerRecord[] = [];
  readMessage(bytes, (r, field, wire) => field === 1 && wire === LEN && (records.push(workerRecord(r.bytesField())), true));
  return records;
}

function workerRecord(bytes: Uint8Array): WorkerRecord {
  const record: WorkerRecord = { id: '', labels: {}, platforms: [], buildkitVersion: '' };
  readMessage(bytes, (r, field, wire) => {
    if (wire !== LEN) return false;
    if (field === 1) record.id = r.string();
    else if (field === 2) readMap(r.bytesField(), record.labels);
    else if (field === 3) record.platforms.push(platform(r.bytesField()));
    else if (field === 5) readMessage(r.bytesField(), (v, f, t) => f === 2 && t === LEN && ((record.buildkitVersion = v.string()), true));
    else return false;
    return true;
  });
  return record;
}

function platform(bytes: Uint8Array): Platform {
  const p: Platform = { os: '', architecture: '', variant: '' };
  readMessage(bytes, (r, field, wire) => {
    if (wire !== LEN) return false;
    if (field === 1) p.architecture = r.string();
    else if (field === 2) p.os = r.string();
    else if (field === 3) p.variant = r.string();
    else return false;
    return true;
  });
  return p;
}
