// How `check` shows its stages: plain lines, a spinner on a TTY, or nothing (--json).

/** The outcome of one stage, as printed and as emitted by `--json`. */
export interface StageResult {
  readonly name: string;
  /** `host:port` of the cluster node (stages named `node` only). */
  readonly endpoint?: string;
  /** The node's role in the cluster (stages named `node` only). */
  readonly role?: 'primary' | 'replica';
  readonly ok: boolean;
  readonly skipped?: boolean;
  readonly ms: number;
  readonly detail?: string;
  readonly diagnosis?: string;
  readonly fix?: string;
}

/** Receives stage progress. */
export interface Reporter {
  begin(label: string): void;
  end(label: string, result: StageResult): void;
  /** Stops any animation. Idempotent. */
  close(): void;
}

/** A reporter that prints nothing (for `--json`). */
export const SILENT_REPORTER: Reporter = { begin() {}, end() {}, close() {} };

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const LABEL_WIDTH = 15;

/** Prints stages to `out`; animates a spinner when `out` is a TTY. */
export function createTextReporter(out: NodeJS.WriteStream): Reporter {
  const tty = out.isTTY === true;
  const color = tty && !process.env.NO_COLOR;
  const paint = (code: string, text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
  };
  return {
    begin(label) {
      if (!tty) return;
      let frame = 0;
      const draw = () => out.write(`\r\x1b[2K  ${FRAMES[frame++ % FRAMES.length]}     ${label}…`);
      draw();
      timer = setInterval(draw, 80);
      timer.unref();
    },
    end(label, r) {
      stop();
      if (tty) out.write('\r\x1b[2K');
      const status = r.skipped
        ? paint('33', 'SKIP')
        : r.ok
          ? paint('32', 'PASS')
          : paint('31', 'FAIL');
      const ms = r.skipped && r.ms === 0 ? '' : `${r.ms} ms`;
      const lines = [
        `  ${status}  ${label.padEnd(LABEL_WIDTH)} ${ms.padStart(8)}  ${r.detail ?? ''}`.trimEnd(),
      ];
      if (r.diagnosis) lines.push(`        ${paint('1', 'diagnosis:')} ${r.diagnosis}`);
      if (r.fix) lines.push(`        ${paint('1', 'fix:')} ${r.fix}`);
      out.write(`${lines.join('\n')}\n`);
    },
    close: stop,
  };
}
