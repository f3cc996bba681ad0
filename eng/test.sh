#!/usr/bin/env bash
# Runs every SafeSql test the way CI does: installs what the tests need (FreeTDS tsql for the TDS interop test),
# builds with warnings as errors, runs the tests of the whole solution, and ends with "N passed, N failed"
# counted from the TRX result files. Usage: ./eng/test.sh [extra dotnet test args]
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
results="$root/artifacts/test-results"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else return 1; fi; }

# 1. Debian packages the tests use: freetds-bin (tsql, an independent TDS client), iproute2 (ip, for the private
#    network namespace of the port-exhaustion test), util-linux (unshare).
need=()
command -v tsql >/dev/null 2>&1 || need+=(freetds-bin)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing ${need[*]}"
  if ! { as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${need[@]}" >/dev/null; }; then
    echo "test.sh: could not install ${need[*]} (not root, no sudo?); the tests that need them will report it" >&2
  fi
fi

# 2. Restore and build with warnings as errors (Directory.Build.props sets TreatWarningsAsErrors for every project).
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
if ! dotnet build SafeSql.sln -c Release -warnaserror -nologo -v:q; then
  echo "test.sh: build failed" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

# 3. Test. A hang is dumped and killed rather than stalling CI.
rm -rf "$results"
dotnet test SafeSql.sln -c Release --no-build --nologo \
  --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" \
  --blame-hang-timeout 5m "$@"
rc=$?

# 4. Count from the TRX files: <Counters total=".." executed=".." passed=".." failed=".." ...>
passed=0; failed=0; skipped=0; files=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  get() { printf '%s' "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  total=$(get total); executed=$(get executed)
  skipped=$((skipped + total - executed))
done
projects=$(find tests -name '*.Tests.csproj' | wc -l)
if [ "$files" -lt "$projects" ]; then
  echo "test.sh: only $files of $projects test projects wrote results (a test host crashed?)" >&2
  failed=$((failed + projects - files))
fi
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
[ "$skipped" -gt 0 ] && echo "test.sh: $skipped test(s) skipped (see the skip reasons above)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
