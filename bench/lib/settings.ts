// Command-line flags and the settings of a full or a smoke run.
import { fileURLToPath } from 'node:url';

/** Sections that can be run alone with `--only`. */
export const SECTION_IDS = [
  'hot-path',
  'fanout',
  'soak',
  'footprint',
  'dispatch',
  'preload',
] as const;
/** A section id. */
export type SectionId = (typeof SECTION_IDS)[number];

/** Concurrency modes of the hot path: commands in flight, or pipelines of `pipelineDepth`. */
export type HotMode = 'c1' | 'c16' | 'c64' | 'pipeline';

/** One fan-out size: N connections on one token source. */
export interface FanoutSize {
  connections: number;
  /** Rounds (each arm connects, observes `rotations`, disconnects; arms interleaved). */
  rounds: number;
  rotations: number;
  tokenLifetimeSec: number;
}

/** Everything a run does. */
export interface Settings {
  smoke: boolean;
  sections: SectionId[];
  outDir: string;
  hotPath: {
    rounds: number;
    durationMs: number;
    modes: HotMode[];
    pipelineDepth: number;
    keys: number;
    valueBytes: number;
  };
  fanout: { sizes: FanoutSize[]; probes: number; connectConcurrency: number };
  soak: {
    rotations: number;
    tokenLifetimeSec: number;
    /**
     * Refresh point as a share of the token life, for both token libraries. A 2-second token
     * (whole-second `exp`) lives 1–2 s: at the libraries' defaults (0.75, 0.7) the re-AUTH of
     * every connection has a few hundred ms, less than an event-loop stall of a busy 2-core
     * machine; 0.5 makes the soak about rotations, not that margin (as scripts/soak.ts does).
     */
    refreshRatio: number;
    maxDurationMs: number;
    publishIntervalMs: number;
    commandIntervalMs: number;
    burstIntervalMs: number;
    burstSize: number;
  };
  footprint: { connections: number; idleMs: number; rounds: number };
  /** The adapters' own CPU per command against a local redis-server (no emulator). */
  dispatch: { rounds: number; commandsPerRound: number; chunksPerRound: number; inFlight: number };
  /** The zero-code preload: startup runs per arm, and its per-command measure (as dispatch). */
  preload: { startupRuns: number; commands: Settings['dispatch'] };
}

const DEFAULT_OUT = fileURLToPath(new URL('../results', import.meta.url));

function full(): Omit<Settings, 'smoke' | 'sections' | 'outDir'> {
  return {
    hotPath: {
      // Many short interleaved windows: on a shared machine, load bursts hit a short window
      // pair alike, and the median over many rounds ignores the ones they do not.
      rounds: 15,
      durationMs: 400,
      modes: ['c1', 'c16', 'c64', 'pipeline'],
      pipelineDepth: 64,
      keys: 1_000,
      valueBytes: 64,
    },
    fanout: {
      sizes: [
        { connections: 1_000, rounds: 3, rotations: 2, tokenLifetimeSec: 10 },
        // Tokens outlive the connect phase (about 1 min for 10,000 TLS connections on 2 cores),
        // so that rotations land on a fully connected, idle set.
        { connections: 10_000, rounds: 1, rotations: 2, tokenLifetimeSec: 120 },
      ],
      probes: 4,
      connectConcurrency: 200,
    },
    soak: {
      rotations: 100,
      tokenLifetimeSec: 4,
      refreshRatio: 0.5,
      maxDurationMs: 360_000,
      publishIntervalMs: 10,
      commandIntervalMs: 2,
      burstIntervalMs: 2_500,
      burstSize: 5,
    },
    footprint: { connections: 1_000, idleMs: 5_000, rounds: 3 },
    // 30 interleaved rounds of 40,000 commands: a round takes about 0.2-0.5 s per arm, so load
    // bursts of a shared machine hit few rounds, and the median of the paired differences
    // resolves a few tens of ns per command.
    dispatch: { rounds: 30, commandsPerRound: 40_000, chunksPerRound: 20, inFlight: 32 },
    preload: {
      startupRuns: 20,
      commands: { rounds: 20, commandsPerRound: 30_000, chunksPerRound: 15, inFlight: 32 },
    },
  };
}

function smoke(): Omit<Settings, 'smoke' | 'sections' | 'outDir'> {
  return {
    hotPath: {
      rounds: 2,
      durationMs: 40,
      modes: ['c1', 'c16', 'c64', 'pipeline'],
      pipelineDepth: 16,
      keys: 20,
      valueBytes: 16,
    },
    fanout: {
      sizes: [{ connections: 20, rounds: 1, rotations: 1, tokenLifetimeSec: 3 }],
      probes: 2,
      connectConcurrency: 20,
    },
    soak: {
      rotations: 2,
      tokenLifetimeSec: 2,
      refreshRatio: 0.5,
      maxDurationMs: 10_000,
      publishIntervalMs: 20,
      commandIntervalMs: 10,
      burstIntervalMs: 1_000,
      burstSize: 2,
    },
    footprint: { connections: 5, idleMs: 300, rounds: 1 },
    dispatch: { rounds: 2, commandsPerRound: 500, chunksPerRound: 2, inFlight: 8 },
    preload: {
      startupRuns: 1,
      commands: { rounds: 2, commandsPerRound: 300, chunksPerRound: 2, inFlight: 8 },
    },
  };
}

/**
 * Parses `--smoke`, `--only <section>` (repeatable or comma-separated), `--out <dir>` and
 * `--fanout-sizes <N,...>` (some of the fan-out sizes only).
 * Throws on an unknown flag or section.
 *
 * @example
 * ```ts
 * const settings = parseSettings(['--smoke', '--only', 'hot-path']);
 * ```
 */
export function parseSettings(argv: readonly string[]): Settings {
  let isSmoke = false;
  let outDir = DEFAULT_OUT;
  const only: SectionId[] = [];
  let fanoutSizes: number[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--smoke') isSmoke = true;
    else if (arg === '--out') outDir = required(argv, ++i, '--out');
    else if (arg === '--only') {
      for (const name of required(argv, ++i, '--only').split(',')) {
        if (!(SECTION_IDS as readonly string[]).includes(name)) {
          throw new Error(`--only: unknown section "${name}"; one of ${SECTION_IDS.join(', ')}`);
        }
        only.push(name as SectionId);
      }
    } else if (arg === '--fanout-sizes') {
      fanoutSizes = required(argv, ++i, '--fanout-sizes')
        .split(',')
        .map((n) => Number(n.replace(/_/g, '')));
    } else {
      throw new Error(
        `unknown flag "${arg}" (flags: --smoke, --only <section>, --out <dir>, --fanout-sizes <N,...>)`,
      );
    }
  }
  const chosen = isSmoke ? smoke() : full();
  if (fanoutSizes) {
    const known = chosen.fanout.sizes.map((size) => size.connections);
    const unknown = fanoutSizes.filter((n) => !known.includes(n));
    if (unknown.length > 0 || fanoutSizes.length === 0) {
      throw new Error(`--fanout-sizes: one or more of ${known.join(', ')}`);
    }
    chosen.fanout.sizes = chosen.fanout.sizes.filter((size) =>
      fanoutSizes.includes(size.connections),
    );
  }
  return {
    smoke: isSmoke,
    sections: only.length ? only : [...SECTION_IDS],
    outDir,
    ...chosen,
  };
}

function required(argv: readonly string[], i: number, flag: string): string {
  const value = argv[i];
  if (value === undefined || value.startsWith('--')) throw new Error(`${flag} needs a value`);
  return value;
}
