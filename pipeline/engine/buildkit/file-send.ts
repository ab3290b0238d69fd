// What an exporter that writes a file (`docker`, `oci`, `tar`) sends back through the session: the daemon
// calls the session's FileSend.DiffCopy and streams the file as BytesMessages, with the exporter's metadata
// as `exporter-md-<key>` headers, as BuildKit's filesync CopyFileWriter does. A standalone buildkitd keeps
// no image store of ours, so this is how what it builds comes home (buildx's `--load` on a remote driver).
import type http2 from 'node:http2';
import type { Writable } from 'node:stream';
import { bytesMessageData } from './bytes-stream.ts';
import { endWithStatus, GRPC_STATUS, onMessages, respond, type CallHandler } from './grpc-server.ts';
import { metadataList } from './file-sync.ts';

export const FILE_SEND_DIFFCOPY = '/moby.filesync.v1.FileSend/DiffCopy';

const METADATA_PREFIX = 'exporter-md-';

/** Where the file goes: a stream opened for the exporter's metadata, ended when the daemon is done. */
export interface FileTarget {
  open(metadata: Readonly<Record<string, string>>): Writable;
}

/**
 * Serves FileSend.DiffCopy into the target, one file per build. The daemon's pace follows the target's: the
 * call is paused while the target is full, so a large image is never held in memory.
 */
export function fileSendHandler(target: FileTarget): CallHandler {
  let used = false;
  return (stream, headers) => {
    if (used) {
      endWithStatus(stream, GRPC_STATUS.ALREADY_EXISTS, 'target already exists');
      return;
    }
    used = true;
    let out: Writable;
    try {
      out = target.open(exporterMetadata(headers));
    } catch (err) {
      endWithStatus(stream, GRPC_STATUS.INTERNAL, err instanceof Error ? err.message : 'the target could not be opened');
      return;
    }
    out.on('error', (err) => {
      endWithStatus(stream, GRPC_STATUS.INTERNAL, `writing the export: ${err.message}`);
      stream.resume();
    });
    out.on('drain', () => stream.resume());
    onMessages(stream, (message) => {
      const data = bytesMessageData(message);
      if (data.length > 0 && !out.destroyed && !out.write(Buffer.from(data))) stream.pause();
    });
    stream.on('end', () => {
      if (out.destroyed) return;
      out.end(() => {
        respond(stream);
        stream.end();
      });
    });
    stream.on('close', () => {
      if (!out.writableFinished) out.destroy(new Error('the daemon broke off the export'));
    });
  };
}

/** The exporter's metadata from the call's headers (BuildKit names them `exporter-md-<key>`). */
export function exporterMetadata(headers: http2.IncomingHttpHeaders): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const name of Object.keys(headers)) {
    if (name.startsWith(METADATA_PREFIX)) metadata[name.slice(METADATA_PREFIX.length)] = metadataList(headers, name).join(',');
  }
  return metadata;
}
