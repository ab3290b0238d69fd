// Certificates for a TCP engine with mutual TLS, made with openssl in a temporary directory: a CA, a server
// certificate for 127.0.0.1, and a client certificate, also under the docker CLI's names (ca.pem, cert.pem,
// key.pem), as DOCKER_CERT_PATH takes them.
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDir } from './temp.ts';

export async function makeCerts(): Promise<string> {
  const dir = await tempDir('bi-certs-');
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=build-images test CA', '-keyout', 'ca-key.pem', '-out', 'ca.pem');
  for (const [name, subject, ext] of [
    ['server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth'],
    ['client', '/CN=client', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`);
    await writeFile(path.join(dir, `${name}.ext`), `${ext}\n`);
    ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca-key.pem',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    );
  }
  await writeFile(path.join(dir, 'cert.pem'), await readFile(path.join(dir, 'client.pem')));
  await writeFile(path.join(dir, 'key.pem'), await readFile(path.join(dir, 'client-key.pem')));
  return dir;
}
