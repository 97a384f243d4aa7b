// The DNS, TCP and TLS stages of `check`, on the endpoint given by --host/--port.

import type net from 'node:net';
import type tls from 'node:tls';
import { dnsFailure, tcpFailure, tlsFailure, type Target } from './diagnose.js';
import {
  answersPlaintextRedis,
  connectTcp,
  describeTls,
  handshakeTls,
  resolveHost,
} from './network.js';
import { fail, pass, type Stages } from './stages.js';

/** Where the network stages got to. `socket` is set when TLS passed. */
export interface Connected {
  /** The address connected to (the first DNS answer, or the host itself). */
  readonly address: string;
  readonly socket?: tls.TLSSocket;
  /** The TCP socket under `socket` (destroy both when done). */
  readonly tcp?: net.Socket;
}

/** Runs DNS, TCP and TLS in turn, skipping what cannot run after a failure. */
export async function connectStages(
  stages: Stages,
  t: Target,
  ca: string[] | undefined,
  timeoutMs: number,
): Promise<Connected> {
  let addresses: string[] = [];
  let tcp: net.Socket | undefined;
  let socket: tls.TLSSocket | undefined;
  const dnsOk = await stages.run('dns', async () => {
    try {
      addresses = await resolveHost(t.host, timeoutMs);
      return pass(addresses.join(', '));
    } catch (error) {
      return fail(dnsFailure(error, t));
    }
  });
  const address = addresses[0] ?? t.host;
  if (!dnsOk) {
    stages.skip('tcp', 'not run: DNS lookup failed');
    stages.skip('tls', 'not run: no TCP connection');
    return { address };
  }
  const tcpOk = await stages.run('tcp', async () => {
    try {
      tcp = await connectTcp(address, t.port, timeoutMs);
      return pass(`connected to ${address}:${t.port}`);
    } catch (error) {
      return fail(tcpFailure(error, t));
    }
  });
  if (!tcpOk || !tcp) {
    stages.skip('tls', 'not run: no TCP connection');
    return { address };
  }
  const plain = tcp;
  await stages.run('tls', async () => {
    try {
      socket = await handshakeTls(plain, t.host, ca, timeoutMs);
      return pass(describeTls(socket));
    } catch (error) {
      const plaintext = await answersPlaintextRedis(address, t.port, Math.min(2000, timeoutMs));
      return fail(tlsFailure(error, t, plaintext));
    }
  });
  return { address, tcp, ...(socket ? { socket } : {}) };
}
