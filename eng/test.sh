#!/usr/bin/env bash
# Runs every SafeSql test the way CI does: installs what the tests need (FreeTDS tsql and tedious for the TDS interop tests),
# builds with warnings as errors and runs the tests of the whole solution once per supported Microsoft.Data.SqlClient
# version (the floor and the newest) and the pool-sensitive tests once more on SqlClient's pool v2 (7.1+), then installs
# the packed packages in a fresh project (eng/consumer-test.sh), and ends with "N passed, N failed" summed over all of it
# (test counts from the TRX files, the consumer test as one).
# Usage: ./eng/test.sh [extra dotnet test args]
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
results="$root/artifacts/test-results"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else return 1; fi; }

# 1. Debian packages the tests use: freetds-bin (tsql, an independent TDS client), iproute2 (ip, for the private
#    network namespace of the port-exhaustion test), util-linux (unshare), chromium (the diagnostics page's browser test).
need=()
command -v tsql >/dev/null 2>&1 || need+=(freetds-bin)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing ${need[*]}"
  if ! { as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${need[@]}" >/dev/null; }; then
    echo "test.sh: could not install ${need[*]} (not root, no sudo?); the tests that need them will report it" >&2
  fi
fi

# 1a. The locked npm package of the diagnostics page's browser test (eng/browser: playwright-core, which drives Debian's
#     chromium and never downloads a browser); bounded, and a failure is left to the browser test to report.
if command -v npm >/dev/null 2>&1 && [ ! -d eng/browser/node_modules/playwright-core ]; then
  echo "test.sh: installing eng/browser (npm ci)"
  if ! (cd eng/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 timeout 300 npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
    echo "test.sh: npm ci in eng/browser failed; the browser test will report it" >&2
  fi
fi

# 1b. The locked npm packages of the tedious interop check (eng/tedious-check: tedious, Node's TDS client), from the npm
#     registry this machine's npm is set up for; bounded, and a failure is left to the tests that need them to report.
if command -v npm >/dev/null 2>&1 && [ ! -d eng/tedious-check/node_modules/tedious ]; then
  echo "test.sh: installing eng/tedious-check (npm ci)"
  if ! (cd eng/tedious-check && timeout 300 npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
    echo "test.sh: npm ci in eng/tedious-check failed; the tedious interop tests will report it" >&2
  fi
fi

# 2. The SqlClient versions to test (Directory.Build.props: the floor the packages reference and the newest served).
#    SQLCLIENT_VERSIONS="7.1.1" ./eng/test.sh narrows a local run to one of them.
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
versions=${SQLCLIENT_VERSIONS:-$(dotnet msbuild src/SafeSql/SafeSql.csproj -nologo -getProperty:SqlClientTestedVersions | tr ';' ' ')}
rm -rf "$results"
passed=0; failed=0; skipped=0

# Adds the counts of the TRX files in $1 (<Counters total=".." executed=".." passed=".." failed=".." ...>) to the totals;
# fewer files than $2 (a test host crashed?) or a failing exit code $3 without a failed test count as failures. $4 labels it.
count_results() {
  local dir=$1 expected=$2 rc=$3 label=$4 v_passed=0 v_failed=0 v_skipped=0 files=0 trx counters total executed
  get() { printf '%s' "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  for trx in "$dir"/*.trx; do
    [ -f "$trx" ] || continue
    files=$((files + 1))
    counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
    v_passed=$((v_passed + $(get passed)))
    v_failed=$((v_failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
    total=$(get total); executed=$(get executed)
    v_skipped=$((v_skipped + total - executed))
  done
  if [ "$files" -lt "$expected" ]; then
    echo "test.sh: only $files of $expected test projects wrote results on $label (a test host crashed?)" >&2
    v_failed=$((v_failed + expected - files))
  fi
  if [ "$rc" -ne 0 ] && [ "$v_failed" -eq 0 ]; then v_failed=1; fi
  echo "test.sh: $label: $v_passed passed, $v_failed failed, $v_skipped skipped"
  passed=$((passed + v_passed)); failed=$((failed + v_failed)); skipped=$((skipped + v_skipped))
}
for version in $versions; do
  # 3. Restore and build with warnings as errors (Directory.Build.props sets TreatWarningsAsErrors for every project).
  #    NU1603 (a transitive version the NuGet mirror does not serve; the next one is taken) is the one exception.
  #    The shipped libraries are compiled against the floor in both runs; only the tests' SqlClient changes.
  echo "test.sh: Microsoft.Data.SqlClient $version"
  if ! dotnet build SafeSql.sln -c Release -warnaserror -warnnotaserror:NU1603 -nologo -v:q -p:SqlClientVersion="$version"; then
    echo "test.sh: build failed (SqlClient $version)" >&2
    failed=$((failed + 1))
    continue
  fi

  # 4. Test. A hang is dumped and killed rather than stalling CI. Results are labelled by version. Every test project runs
  #    at once (-m:5, one process each): most of their time is spent waiting on real timeouts (connect timeouts, retries
  #    through SqlClient's pool blocking period, TIME_WAIT), not on the processors; TEST_PROJECTS_AT_ONCE=2 narrows it.
  out="$results/sqlclient-$version"
  dotnet test SafeSql.sln -c Release --no-build --nologo -p:SqlClientVersion="$version" -m:"${TEST_PROJECTS_AT_ONCE:-5}" \
    --logger "trx" --logger "console;verbosity=normal" --results-directory "$out" \
    --blame-hang-timeout 5m "$@"
  rc=$?

  # 5. Count from the TRX files.
  count_results "$out" "$(find tests -name '*.Tests.csproj' | wc -l)" "$rc" "SqlClient $version"

  # 6. SqlClient's pool v2 (Switch.Microsoft.Data.SqlClient.UseConnectionPoolV2, 7.1 and newer; a stub in 6.1): the tests whose
  #    outcome depends on the pool (trait SqlClientPool=Sensitive) once more with the switch on, set by SafeSql.Tests' module
  #    initializer from SAFESQL_TEST_POOL_V2=1 (tests/SafeSql.Tests/TestUtilities/SqlClientPool.cs). About a minute.
  case "$version" in
    6.*) ;;
    *)
      echo "test.sh: Microsoft.Data.SqlClient $version, pool v2"
      SAFESQL_TEST_POOL_V2=1 dotnet test tests/SafeSql.Tests/SafeSql.Tests.csproj -c Release --no-build --nologo -p:SqlClientVersion="$version" \
        --filter "SqlClientPool=Sensitive" --logger "trx" --logger "console;verbosity=normal" --results-directory "$out-pool-v2" \
        --blame-hang-timeout 5m "$@"
      count_results "$out-pool-v2" 1 $? "SqlClient $version, pool v2"
      ;;
  esac
done

# 7. The packages as a user installs them (eng/consumer-test.sh): pack, a fresh `dotnet new console` outside the
#    repository, build with warnings as errors, run. Counted as one test; its failure fails the run.
#    SKIP_CONSUMER_TEST=1 leaves it out of a local run.
if [ "${SKIP_CONSUMER_TEST:-0}" != 1 ]; then
  if ./eng/consumer-test.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
fi

[ "$skipped" -gt 0 ] && echo "test.sh: $skipped test(s) skipped (see the skip reasons above)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
