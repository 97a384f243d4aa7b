// A minimal RESP2 server in this process, for the dispatch section: it parses each command
// (arrays of bulk strings, as clients send them) and answers at once: +OK, +PONG for PING, a
// nil for GET. Sharing the client's thread makes the exchange deterministic (no second
// process racing for the cores, replies never batched differently from round to round), so
// the difference between two clients' CPU per command is their own code's.
import { createServer, type Server, type Socket } from 'node:net';

const OK = Buffer.from('+OK\r\n');
const PONG = Buffer.from('+PONG\r\n');
const NIL = Buffer.from('$-1\r\n');

/** Parses complete commands from `buffer` from `offset`; returns their names and the rest's offset. */
function parse(buffer: Buffer, offset: number, names: string[]): number {
  for (;;) {
    if (offset >= buffer.length || buffer[offset] !== 0x2a /* '*' */) return offset;
    let end = buffer.indexOf('\r\n', offset);
    if (end < 0) return offset;
    const count = Number(buffer.toString('latin1', offset + 1, end));
    let at = end + 2;
    let name = '';
    for (let i = 0; i < count; i++) {
      end = buffer.indexOf('\r\n', at);
      if (end < 0) return offset;
      const length = Number(buffer.toString('latin1', at + 1, end));
      const start = end + 2;
      if (start + length + 2 > buffer.length) return offset;
      if (i === 0) name = buffer.toString('latin1', start, start + length).toUpperCase();
      at = start + length + 2;
    }
    names.push(name);
    offset = at;
  }
}

function serve(socket: Socket, sawAuth: () => void): void {
  socket.setNoDelay(true);
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (data: Buffer) => {
    const buffer = pending.length === 0 ? data : Buffer.concat([pending, data]);
    const names: string[] = [];
    const rest = parse(buffer, 0, names);
    pending = rest >= buffer.length ? Buffer.alloc(0) : buffer.subarray(rest);
    if (names.length === 0) return;
    const replies = names.map((n) => (n === 'GET' ? NIL : n === 'PING' ? PONG : OK));
    socket.write(replies.length === 1 ? replies[0]! : Buffer.concat(replies));
    if (names.includes('AUTH')) sawAuth();
    if (names.includes('QUIT')) socket.end();
  });
  socket.on('error', () => undefined);
}

/** Starts the responder on a loopback port (`port`, or any free one). */
export async function startResponder(
  port = 0,
): Promise<{ port: number; auths(): number; resetAuths(): void; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let auths = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serve(socket, () => void auths++);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    /** Writes that carried an AUTH (a client's handshake or re-AUTH). */
    auths: () => auths,
    resetAuths: () => void (auths = 0),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
