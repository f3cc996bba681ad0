// SafeSql.NetworkLab: reproduces network failures with the REAL Microsoft.Data.SqlClient against a loopback TDS server,
// classifies them with SafeSql, and prints one JSON object on standard output. The tests run it inside a private network
// namespace (SafeSql.Testing.Network.PrivateNetworkNamespace: unshare -n, loopback up, 50 ephemeral ports,
// net.ipv4.tcp_tw_reuse=0), where ephemeral ports run out after ~50 unpooled opens as they would towards a remote server.
//
// Usage: SafeSql.NetworkLab <exhaust|refuse|ipv6> [--async] [--max-opens N]
//   exhaust  Pooling=false opens (each opened and disposed) until one fails; classify the failure; then run SafeSql's open
//            retry pipeline once more to show how it treats exhaustion (one retry after SocketExhaustionDelay).
//   refuse   open once, stop the server, open again: a refusal, with few TIME_WAIT sockets.
//   ipv6     connect to tcp:[::1],1433 (run with IPv6 disabled on loopback): EADDRNOTAVAIL without exhaustion.
// Every loop is bounded: at most --max-opens opens (default 1000) and 60 seconds.

using System.Diagnostics;
using System.Text.Json;

using Microsoft.Data.SqlClient;

using Polly;
using Polly.Retry;
using Polly.Telemetry;

using SafeSql;
using SafeSql.Diagnostics;
using SafeSql.Testing;

// 1. Arguments.
var mode = args.Length > 0 ? args[0] : "exhaust";
var useAsync = args.Contains("--async");
var maxOpens = 1000;
var maxOpensIndex = Array.IndexOf(args, "--max-opens");
if (maxOpensIndex >= 0 && maxOpensIndex + 1 < args.Length)
{
    maxOpens = int.Parse(args[maxOpensIndex + 1], System.Globalization.CultureInfo.InvariantCulture);
}

var report = new Dictionary<string, object?> { ["mode"] = mode, ["async"] = useAsync };
try
{
    // 2. A loopback SQL server on a fixed port outside the namespace's narrowed ephemeral range.
    await using var server = await LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions { Port = 1433 });
    var dataSource = mode == "ipv6" ? "tcp:[::1],1433" : "tcp:127.0.0.1,1433";
    var connectionString = new SqlConnectionStringBuilder(server.ConnectionString)
    {
        DataSource = dataSource,
        Pooling = false,
        // A failed open takes about Connect Timeout (SqlClient retries the TCP connect until it expires); 5 s leaves room for
        // a TLS login on a loaded machine.
        ConnectTimeout = 5,
    }.ConnectionString;

    // 3. Reproduce the failure.
    var opens = 0;
    Exception? failure = null;
    var clock = Stopwatch.StartNew();
    switch (mode)
    {
        case "exhaust":
            while (opens < maxOpens && clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                failure = await TryOpenAsync(connectionString, useAsync);
                if (failure is not null)
                {
                    break;
                }

                opens++;
            }

            break;
        case "refuse":
            failure = await TryOpenAsync(connectionString, useAsync);
            opens = failure is null ? 1 : 0;
            await server.StopAsync();
            failure = await TryOpenAsync(connectionString, useAsync);
            break;
        case "ipv6":
            failure = await TryOpenAsync(connectionString, useAsync);
            break;
        default:
            throw new ArgumentException($"Unknown mode '{mode}': use exhaust, refuse or ipv6.");
    }

    report["opensBeforeFailure"] = opens;
    report["elapsedMilliseconds"] = clock.ElapsedMilliseconds;
    report["serverTcpConnectionsAccepted"] = server.Counters.TcpConnectionsAccepted;
    if (failure is null)
    {
        report["error"] = $"no failure after {opens} opens";
        Print(report);
        return 2;
    }

    // 4. What the client threw, and what SafeSql makes of it (the OS probe runs in this namespace).
    report["exception"] = Describe(failure);
    report["failure"] = Describe(SqlFailureClassifier.ClassifyOpenFailure(failure, dataSource));

    // 5. The open pipeline on the same failure: SocketExhaustion is retried once, after SocketExhaustionDelay.
    if (mode == "exhaust")
    {
        clock.Restart();
        report["pipeline"] = await RunOpenPipelineAsync(connectionString, useAsync);
        report["pipelineElapsedMilliseconds"] = clock.ElapsedMilliseconds;
    }

    Print(report);
    return 0;
}
catch (Exception ex)
{
    report["error"] = ex.ToString();
    Print(report);
    return 1;
}

static async Task<Exception?> TryOpenAsync(string connectionString, bool useAsync)
{
    var connection = new SqlConnection(connectionString);
    try
    {
        if (useAsync)
        {
            await connection.OpenAsync();
        }
        else
        {
            connection.Open();
        }

        return null;
    }
    catch (Exception ex)
    {
        return ex;
    }
    finally
    {
        // Closing first puts the client's port into TIME_WAIT (the side that closes first waits).
        await connection.DisposeAsync();
    }
}

static async Task<Dictionary<string, object?>> RunOpenPipelineAsync(string connectionString, bool useAsync)
{
    var listener = new RetryRecorder();
    var builder = new ResiliencePipelineBuilder { Name = "SafeSql", InstanceName = "network-lab", TelemetryListener = listener };
    var pipeline = builder
        .AddSqlOpenRetry(new SqlRetryStrategyOptions { MaxRetryAttempts = 3, SocketExhaustionDelay = TimeSpan.FromMilliseconds(200) }, connectionString)
        .Build();
    var attempts = 0;
    Exception? lastAttempt = null;
    Exception? thrown = null;
    try
    {
        if (useAsync)
        {
            await pipeline.ExecuteAsync(async ct =>
            {
                attempts++;
                lastAttempt = await TryOpenAsync(connectionString, useAsync: true);
                if (lastAttempt is not null)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(lastAttempt);
                }
            });
        }
        else
        {
            pipeline.Execute(() =>
            {
                attempts++;
                lastAttempt = TryOpenAsync(connectionString, useAsync: false).GetAwaiter().GetResult();
                if (lastAttempt is not null)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(lastAttempt);
                }
            });
        }
    }
    catch (Exception ex)
    {
        thrown = ex;
    }

    return new Dictionary<string, object?>
    {
        ["attempts"] = attempts,
        ["retryDelaysMilliseconds"] = listener.Delays.Select(d => Math.Round(d.TotalMilliseconds)).ToArray(),
        ["retriedKinds"] = listener.Kinds.ToArray(),
        ["threwOriginalInstance"] = thrown is not null && ReferenceEquals(thrown, lastAttempt),
        ["thrownNumber"] = (thrown as SqlException)?.Number,
    };
}

static Dictionary<string, object?> Describe(object value) => value switch
{
    SqlException sql => new()
    {
        ["type"] = sql.GetType().FullName,
        ["number"] = sql.Number,
        ["class"] = (int)sql.Class,
        ["innerException"] = sql.InnerException?.GetType().FullName,
        ["innerSocketError"] = (sql.InnerException as System.Net.Sockets.SocketException)?.SocketErrorCode.ToString(),
        ["message"] = sql.Message,
    },
    SqlFailure failure => new()
    {
        ["kind"] = failure.Kind.ToString(),
        ["isTransient"] = failure.IsTransient,
        ["mayHaveExecuted"] = failure.MayHaveExecuted,
        ["sqlErrorNumber"] = failure.SqlErrorNumber,
        ["socketError"] = failure.SocketError?.ToString(),
        ["explanation"] = failure.Explanation,
        ["snapshot"] = failure.TcpSnapshot is { } s ? Describe(s) : null,
    },
    SafeSqlTcpSnapshot snapshot => new()
    {
        ["remoteEndPoint"] = snapshot.RemoteEndPoint?.ToString(),
        ["ephemeralPortRange"] = $"{snapshot.EphemeralPortRangeStart}-{snapshot.EphemeralPortRangeEnd}",
        ["ephemeralPortCount"] = snapshot.EphemeralPortCount,
        ["connectionsTowardsEndPoint"] = snapshot.ConnectionsTowardsEndPoint,
        ["timeWaitTowardsEndPoint"] = snapshot.TimeWaitTowardsEndPoint,
        ["timeWaitTotal"] = snapshot.TimeWaitTotal,
        ["tcpTimeWaitReuse"] = snapshot.TcpTimeWaitReuse,
        ["indicatesExhaustion"] = snapshot.IndicatesExhaustion,
        ["source"] = snapshot.Source,
        ["text"] = snapshot.ToString(),
    },
    Exception ex => new() { ["type"] = ex.GetType().FullName, ["message"] = ex.Message },
    _ => new() { ["value"] = value.ToString() },
};

static void Print(Dictionary<string, object?> report) => Console.WriteLine(JsonSerializer.Serialize(report));

/// <summary>Records Polly's OnRetry events (delay and the kind SafeSql classified).</summary>
internal sealed class RetryRecorder : TelemetryListener
{
    public List<TimeSpan> Delays { get; } = [];

    public List<string> Kinds { get; } = [];

    public override void Write<TResult, TArgs>(in TelemetryEventArguments<TResult, TArgs> args)
    {
        if (args.Arguments is OnRetryArguments<object> retry)
        {
            Delays.Add(retry.RetryDelay);
            Kinds.Add(args.Context.Properties.TryGetValue(new ResiliencePropertyKey<SqlFailure?>("SafeSql.SqlFailure"), out var failure) && failure is not null
                ? failure.Kind.ToString()
                : "?");
        }
    }
}
