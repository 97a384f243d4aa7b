import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import { connect } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPki, issueClientCertificate } from '../src/pki.js';

describe('createPki', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pki-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a CA and a loopback server certificate, keys mode 0600, and reuses them', async () => {
    const pki = await createPki({ stateDir: dir });
    const ca = new X509Certificate(pki.caCertPem);
    const server = new X509Certificate(pki.serverCertPem);
    expect(ca.ca).toBe(true);
    expect(server.ca).toBe(false);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.checkIP('::1')).toBeDefined();
    expect(server.checkHost('localhost')).toBe('localhost');
    expect((await stat(join(dir, 'server-key.pem'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'ca-key.pem'))).mode & 0o777).toBe(0o600);
    expect(pki.caCertPath).toBe(join(dir, 'ca.pem'));

    const again = await createPki({ stateDir: dir });
    expect(again.caCertPem).toBe(pki.caCertPem);
    expect(again.serverCertPem).toBe(pki.serverCertPem);

    const more = await createPki({ stateDir: dir, hostnames: ['redis.test'] });
    expect(more.caCertPem).toBe(pki.caCertPem); // the trusted CA survives
    expect(more.serverCertPem).not.toBe(pki.serverCertPem);
    expect(new X509Certificate(more.serverCertPem).checkHost('redis.test')).toBe('redis.test');
  });

  it('serves TLS that a client trusting only the CA accepts', async () => {
    const pki = await createPki({ stateDir: dir });
    const server = createServer({ cert: pki.serverCertPem, key: pki.serverKeyPem }, (_q, r) =>
      r.end(),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      for (const servername of ['localhost', undefined]) {
        const authorized = await new Promise<boolean>((resolve, reject) => {
          const socket = connect(
            { host: '127.0.0.1', port, ca: pki.caCertPem, ...(servername ? { servername } : {}) },
            () => {
              resolve(socket.authorized);
              socket.destroy();
            },
          );
          socket.on('error', reject);
        });
        expect(authorized).toBe(true);
      }
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('issues client certificates with thumbprints and a combined PEM file', async () => {
    const pki = await createPki({ stateDir: dir });
    const cert = await issueClientCertificate(pki, 'my app');
    const x = new X509Certificate(cert.certPem);
    expect(x.verify(new X509Certificate(pki.caCertPem).publicKey)).toBe(true);
    expect(cert.thumbprintSha1).toBe(x.fingerprint.replace(/:/g, ''));
    expect(cert.thumbprintSha256).toMatch(/^[0-9A-F]{64}$/);
    expect((await stat(cert.combinedPemPath)).mode & 0o777).toBe(0o600);
  });

  it('fails clearly on an unusable state directory', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    await expect(createPki({ stateDir: join(file, 'pki') })).rejects.toMatchObject({
      code: 'PKI_FAILED',
    });
  });
});
