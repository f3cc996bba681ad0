#!/usr/bin/env bash
# Installs SafeSql the way a user does and proves it works: packs SafeSql, SafeSql.Testing and the safesql tool into a
# temporary folder, creates a brand-new console project outside the repository (`dotnet new console`), adds the two
# packages from that folder plus Microsoft.Data.SqlClient at the newest supported version, builds it with warnings as
# errors and runs it: a loopback SQL Server, AddSafeSql in a generic host, open, query, one leaked connection and its leak
# report. Then installs the tool (`dotnet tool install --add-source <folder> --tool-path <dir> SafeSql.Tool`) and runs
# `<dir>/safesql serve` and `<dir>/safesql doctor` against it: every check ok.
# Prints "consumer-test: passed" or "consumer-test: failed" and exits 0 or 1; ./eng/test.sh counts it as one test.
# Usage: ./eng/consumer-test.sh [--keep]   (--keep leaves the temporary folder for inspection)
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
keep=false
[ "${1:-}" = "--keep" ] && keep=true

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
work=$(mktemp -d "${TMPDIR:-/tmp}/safesql-consumer.XXXXXX")
serve=
cleanup() {
  if [ -n "$serve" ]; then kill -TERM "$serve" 2>/dev/null; wait "$serve" 2>/dev/null; fi
  if [ "$keep" = true ]; then echo "consumer-test: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail() { echo "consumer-test: $*" >&2; echo "consumer-test: failed"; exit 1; }

# 1. Versions, each from its one place: the packages' version (Directory.Build.props), the newest supported SqlClient
#    (Directory.Build.props) and Microsoft.Extensions.Hosting as the repository's own tests use it (Directory.Packages.props).
property() { dotnet msbuild src/SafeSql/SafeSql.csproj -nologo -getProperty:"$1"; }
version=$(property Version) || fail "could not read Version"
sqlclient=$(property SqlClientNewestVersion) || fail "could not read SqlClientNewestVersion"
hosting=$(sed -n 's/.*PackageVersion Include="Microsoft.Extensions.Hosting" Version="\([^"]*\)".*/\1/p' Directory.Packages.props)
[ -n "$version" ] && [ -n "$sqlclient" ] && [ -n "$hosting" ] || fail "a version is missing (SafeSql '$version', SqlClient '$sqlclient', Hosting '$hosting')"
echo "consumer-test: SafeSql $version, Microsoft.Data.SqlClient $sqlclient, in $work"

# 2. Pack, as a release would (warnings are errors; NU1603 is the one exception, see Directory.Build.props).
for project in src/SafeSql/SafeSql.csproj src/SafeSql.Testing/SafeSql.Testing.csproj src/SafeSql.Tool/SafeSql.Tool.csproj; do
  dotnet pack "$project" -c Release -o "$work/packages" -nologo -v:q -warnaserror -warnnotaserror:NU1603 \
    || fail "dotnet pack $project failed"
done

# 3. A brand-new project outside the repository. Its own nuget.config adds the packed folder to the machine's package
#    sources and restores into a package folder of its own, so the SafeSql packages just packed are the ones installed
#    (never a copy cached by an earlier run); the machine's package folder is a read-only fallback for the rest.
cd "$work" || fail "no $work"
dotnet new console --name Consumer --output app --framework net10.0 >/dev/null || fail "dotnet new console failed"
global_packages=${NUGET_PACKAGES:-$HOME/.nuget/packages}
cat > app/nuget.config <<EOF
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <config>
    <add key="globalPackagesFolder" value="$work/nuget-packages" />
  </config>
  <packageSources>
    <add key="safesql-packed" value="$work/packages" />
  </packageSources>
  <fallbackPackageFolders>
    <add key="machine" value="$global_packages" />
  </fallbackPackageFolders>
</configuration>
EOF
cd app || fail "no project folder"
dotnet add package SafeSql --version "$version" --no-restore >/dev/null || fail "dotnet add package SafeSql failed"
dotnet add package SafeSql.Testing --version "$version" --no-restore >/dev/null || fail "dotnet add package SafeSql.Testing failed"
dotnet add package Microsoft.Data.SqlClient --version "$sqlclient" --no-restore >/dev/null || fail "dotnet add package Microsoft.Data.SqlClient failed"
dotnet add package Microsoft.Extensions.Hosting --version "$hosting" --no-restore >/dev/null || fail "dotnet add package Microsoft.Extensions.Hosting failed"

cat > Program.cs <<'EOF'
// A user's first program with SafeSql: a loopback SQL Server (SafeSql.Testing), AddSafeSql in a generic host, a query,
// and one connection leaked on purpose, which SafeSql reports with the line that opened it.
using Microsoft.Data.SqlClient;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

using SafeSql;
using SafeSql.Testing;

await using var server = await LoopbackSqlServer.StartAsync();

var reports = new List<SqlConnectionLeakReport>();
using var reported = new SemaphoreSlim(0);
var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddSafeSql(server.ConnectionString).Configure(options => options.Leaks.OnLeakDetected = report =>
{
    lock (reports)
    {
        reports.Add(report);
    }

    reported.Release();
});
using var host = builder.Build();
await host.StartAsync();

await using (var scope = host.Services.CreateAsyncScope())
{
    var db = scope.ServiceProvider.GetRequiredService<ISqlConnectionFactory>();
    await using (var connection = await db.OpenConnectionAsync())
    {
        await using var command = new SqlCommand("SELECT 42", connection);
        var answer = await command.ExecuteScalarAsync();
        Console.WriteLine($"query: SELECT 42 returned {answer}");
        if (answer is not 42)
        {
            Console.WriteLine("consumer: FAIL (wrong query result)");
            return 1;
        }
    }

    _ = await db.OpenConnectionAsync(); // leaked on purpose: never disposed, so the scope returns it and reports it
}

if (!await reported.WaitAsync(TimeSpan.FromSeconds(30)))
{
    Console.WriteLine("consumer: FAIL (no leak report within 30 s)");
    return 1;
}

var leak = reports.Single();
Console.WriteLine($"leak report: {leak.Message}");
await host.StopAsync();
if (leak.Kind != SqlConnectionLeakKind.NotDisposedBeforeScopeEnd || !leak.Message.Contains("Program.cs:", StringComparison.Ordinal))
{
    Console.WriteLine("consumer: FAIL (the report does not name Program.cs)");
    return 1;
}

Console.WriteLine("consumer: PASS");
return 0;
EOF

# 4. Restore and build with warnings as errors, then run (bounded: a hang fails rather than stalls CI).
dotnet build -c Release -nologo -v:q -warnaserror -warnnotaserror:NU1603 -p:TreatWarningsAsErrors=true -p:WarningsNotAsErrors=NU1603 \
  || fail "the consumer project did not build"
for package in safesql safesql.testing; do
  [ -d "$work/nuget-packages/$package/$version" ] || fail "$package $version was not installed from the packed folder"
done
output=$(timeout --kill-after=10s 120s dotnet run -c Release --no-build 2>&1)
rc=$?
printf '%s\n' "$output" | sed 's/^/consumer-test: | /'
[ "$rc" -eq 0 ] && printf '%s\n' "$output" | grep -qx 'consumer: PASS' || fail "the consumer program failed (exit $rc)"

# 5. The safesql tool, installed as a user installs a .NET tool, outside any project; its own `serve` is the server its
#    `doctor` checks (a password of our own, which must not appear in the report). Bounded like the run above.
cd "$work" || fail "no $work"
dotnet tool install --add-source "$work/packages" --tool-path "$work/tools" --version "$version" SafeSql.Tool >/dev/null \
  || fail "dotnet tool install SafeSql.Tool failed"
"$work/tools/safesql" serve --port 0 > "$work/serve.txt" 2>&1 &
serve=$!
for _ in $(seq 1 600); do grep -q '^  SqlClient: ' "$work/serve.txt" 2>/dev/null && break; sleep 0.1; done
secret="Consumer-Test-Secret"
connection_string=$(sed -n 's/^  SqlClient: //p' "$work/serve.txt" | sed "s/Password=<any>/Password=$secret/")
[ -n "$connection_string" ] || fail "safesql serve did not print its connection string: $(cat "$work/serve.txt")"
report=$(timeout --kill-after=10s 120s "$work/tools/safesql" doctor "$connection_string" 2>&1)
rc=$?
printf '%s\n' "$report" | sed 's/^/consumer-test: | /'
printf '%s' "$report" | grep -q "$secret" && fail "safesql doctor printed the password"
[ "$rc" -eq 0 ] && printf '%s\n' "$report" | grep -q '^Verdict: ok: 0 problems, 0 warnings' || fail "safesql doctor did not find every check ok (exit $rc)"
echo "consumer-test: passed"
