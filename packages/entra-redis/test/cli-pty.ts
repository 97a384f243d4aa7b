// Runs the built CLI in a real pseudo-terminal (util-linux `script`), so that it sees a TTY on
// stdin and stdout, and types into it like a user: keys, arrows, Enter, Ctrl-C.
import { spawn } from 'node:child_process';

/** Keys as a terminal sends them. */
export const KEY = { enter: '\r', down: '\x1b[B', ctrlC: '\x03' } as const;

/** A CLI in a pseudo-terminal. */
export interface PtyRun {
  /** What the terminal shows so far (see {@link screenText}). */
  text(): string;
  /** Everything the terminal received so far, as is. */
  raw(): string;
  /** Types `keys` (a small pause first, as a person would, so each prompt sees its own input). */
  type(keys: string): Promise<void>;
  /** Resolves once the screen text matches `pattern` after `from` (an index into text()). */
  waitFor(pattern: RegExp, timeoutMs: number, from?: number): Promise<void>;
  /** The exit code, once the CLI has ended. */
  readonly done: Promise<number | null>;
  kill(): void;
}

/** Removes ANSI escape sequences. */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]/g, '');
}

/**
 * What a terminal shows: escape sequences removed, and of each line only what was written after
 * its last carriage return (a spinner or a prompt redraws its line that way).
 */
export function screenText(raw: string): string {
  return raw
    .split('\n')
    .map((line) => {
      const parts = line.split('\r').map(stripAnsi);
      return [...parts].reverse().find((p) => p !== '') ?? '';
    })
    .join('\n');
}

function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Starts `node -- <cli> ...args` in a pseudo-terminal with only `PATH`, `TERM` and `env`. */
export function startInPty(
  cli: string,
  args: readonly string[],
  env: Record<string, string | undefined>,
  timeoutMs = 120_000,
): PtyRun {
  const childEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    TERM: 'xterm-256color',
  };
  for (const [key, value] of Object.entries(env)) if (value !== undefined) childEnv[key] = value;
  // `exec`: the shell `script` runs the command with must not stay as the CLI's parent, or the
  // terminal's Ctrl-C would kill it too.
  const command = `exec ${[process.execPath, '--', cli, ...args].map(shellQuote).join(' ')}`;
  // -q: no banner; -f: flush at once; -e: exit with the command's code; -c: the command.
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    env: childEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  let raw = '';
  let exited = false;
  child.stdout.setEncoding('utf8').on('data', (d: string) => (raw += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (raw += d));
  const kill = () => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(kill, timeoutMs);
  const done = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      exited = true;
      clearTimeout(timer);
      resolve(code);
    });
  });
  const text = () => screenText(raw);
  return {
    text,
    raw: () => raw,
    async type(keys) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      child.stdin.write(keys);
    },
    async waitFor(pattern, waitMs, from = 0) {
      const deadline = Date.now() + waitMs;
      while (!pattern.test(text().slice(from))) {
        if (exited) throw new Error(`the CLI ended before showing ${pattern}:\n${text()}`);
        if (Date.now() > deadline) throw new Error(`no ${pattern} within ${waitMs} ms:\n${text()}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    done,
    kill,
  };
}
