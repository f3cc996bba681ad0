// One host of a web farm (SafeSql.Testing.Network.WebFarm), driven line by line on standard input, answering one JSON line
// per command on standard output. It exits when standard input ends, so it never outlives the process that started it.
//
//   serve --listen 10.77.0.1 --port 1433      the server host: the loopback SQL Server (no TLS, the fixed development
//       start <backlog> <acceptDelayMs>        password), started, restarted with a new listen backlog and accept delay,
//       stop                                   or stopped (every connection closed: the pools' connections die)
//   client --server 10.77.0.1,1433 --host N   a client host (a web server): one SqlClient pool per mode
//       run mode=raw-unpooled|raw-pooled|safesql requests=50 concurrency=50 connectTimeout=3 requestTimeoutMs=10000
//           [retries=6 delayMs=200 maxDelayMs=2000 maxPoolSize=100]
//                                              that many requests (open, SELECT, close), that many at once, each bounded
//                                              by requestTimeoutMs; failures by SafeSql kind, exception shapes, TCP figures
//           [pools=1 sync=0 neverBlock=0]                   pools: pools per host (databases, or a web garden's worker processes), the
//                                              requests spread over them; sync=1: Open() on thread-pool threads
//       warm mode=... count=N [pools=1]        opens N connections per pool at once and returns them to the pool
//
// The demo's scenario 5 compiles this file too (samples/SafeSql.Demo, hidden command __web-farm). Messages printed never
// hold the password: connection strings are never printed, and SqlClient's messages do not carry them.

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text.Json;

using Microsoft.Data.SqlClient;

using Polly;
using Polly.Retry;

using SafeSql.Testing;

namespace SafeSql.Farm;

/// <summary>The farm host program: <c>serve</c> or <c>client</c>, commands on standard input, JSON lines on standard output.</summary>
internal static class FarmProgram
{
    public const string ModeRawUnpooled = "raw-unpooled";
    public const string ModeRawPooled = "raw-pooled";
    public const string ModeSafeSql = "safesql";

    private static readonly ResiliencePropertyKey<SqlFailure?> s_failureKey = new("SafeSql.SqlFailure");

    /// <summary>The loaded Microsoft.Data.SqlClient's version, for example "7.1.1".</summary>
    public static string SqlClientVersion { get; } =
        typeof(SqlConnection).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "?";

    public static async Task<int> RunAsync(string[] args)
    {
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        ThreadPool.SetMinThreads(200, 200);
        var options = ParseOptions(args.Skip(1));
        try
        {
            return args.FirstOrDefault() switch
            {
                "serve" => await ServeAsync(options),
                "client" => await ClientAsync(options),
                _ => Usage(),
            };
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine(ex.ToString());
            return 1;
        }
    }

    private static int Usage()
    {
        Console.Error.WriteLine("Usage: serve --listen ADDRESS --port N | client --server ADDRESS,PORT --host N (commands on standard input)");
        return 2;
    }

    // 1. The server host.
    private static async Task<int> ServeAsync(Dictionary<string, string> options)
    {
        var address = IPAddress.Parse(options.GetValueOrDefault("listen", "127.0.0.1"));
        var port = int.Parse(options.GetValueOrDefault("port", "1433"), CultureInfo.InvariantCulture);
        LoopbackSqlServer? server = null;
        try
        {
            while (await Console.In.ReadLineAsync() is { } line)
            {
                var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                switch (words.FirstOrDefault())
                {
                    case "start":
                        var stopped = await StopAsync(server);
                        var backlog = int.Parse(words[1], CultureInfo.InvariantCulture);
                        var acceptDelay = TimeSpan.FromMilliseconds(double.Parse(words[2], CultureInfo.InvariantCulture));
                        server = await LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions
                        {
                            ListenAddress = address,
                            Port = port,
                            ListenBacklog = backlog,
                            Encryption = LoopbackEncryption.NotSupported,
                        });
                        server.Faults.AcceptDelay = acceptDelay;
                        Print(new() { ["event"] = "listening", ["port"] = server.Port, ["backlog"] = backlog, ["acceptDelayMs"] = acceptDelay.TotalMilliseconds, ["previous"] = stopped });
                        break;
                    case "stop":
                        Print(new() { ["event"] = "stopped", ["previous"] = await StopAsync(server) });
                        server = null;
                        break;
                    default:
                        Print(new() { ["event"] = "error", ["error"] = $"unknown command '{words.FirstOrDefault()}'" });
                        break;
                }
            }
        }
        finally
        {
            await StopAsync(server);
        }

        return 0;

        static async Task<Dictionary<string, object?>?> StopAsync(LoopbackSqlServer? running)
        {
            if (running is null)
            {
                return null;
            }

            var counters = running.Counters;
            var figures = new Dictionary<string, object?> { ["tcpConnectionsAccepted"] = counters.TcpConnectionsAccepted, ["logins"] = counters.Logins };
            await running.DisposeAsync();
            return figures;
        }
    }

    // 2. A client host: a web server with one SqlClient pool per mode.
    private static async Task<int> ClientAsync(Dictionary<string, string> options)
    {
        var server = options.GetValueOrDefault("server", "127.0.0.1,1433");
        var host = int.Parse(options.GetValueOrDefault("host", "1"), CultureInfo.InvariantCulture);
        var dataSources = new Dictionary<string, SafeSqlDataSource>(StringComparer.Ordinal);
        try
        {
            Print(new() { ["event"] = "ready", ["host"] = host });
            while (await Console.In.ReadLineAsync() is { } line)
            {
                var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var run = ParseOptions(words.Skip(1).Select(static w => "--" + w.Replace('=', ' ')).SelectMany(static w => w.Split(' ', 2)));
                var settings = RunSettings.From(run);
                switch (words.FirstOrDefault())
                {
                    case "run":
                        Print(await RunRequestsAsync(host, server, settings, dataSources));
                        break;
                    case "warm":
                        // One pool after the other, one connection at a time: the farm's hosts warm up without a storm.
                        var opened = 0;
                        var warmFailures = 0;
                        var count = int.Parse(run.GetValueOrDefault("count", "1"), CultureInfo.InvariantCulture);
                        for (var pool = 0; pool < settings.Pools; pool++)
                        {
                            var connections = new List<SqlConnection>();
                            for (var i = 0; i < count; i++)
                            {
                                try
                                {
                                    connections.Add(settings.Mode == ModeSafeSql
                                        ? await DataSourceFor(server, settings, dataSources, pool).OpenConnectionAsync()
                                        : await OpenRawAsync(ConnectionString(server, settings, pool), sync: false, CancellationToken.None));
                                    opened++;
                                }
                                catch (Exception ex) when (ex is SqlException or TimeoutException)
                                {
                                    warmFailures++;
                                }
                            }

                            foreach (var connection in connections)
                            {
                                await connection.DisposeAsync();
                            }
                        }

                        Print(new() { ["event"] = "warmed", ["host"] = host, ["mode"] = settings.Mode, ["opened"] = opened, ["failed"] = warmFailures });
                        break;
                    default:
                        Print(new() { ["event"] = "error", ["error"] = $"unknown command '{words.FirstOrDefault()}'" });
                        break;
                }
            }
        }
        finally
        {
            foreach (var dataSource in dataSources.Values)
            {
                await dataSource.DisposeAsync();
            }
        }

        return 0;
    }

    private static async Task<Dictionary<string, object?>> RunRequestsAsync(int host, string server, RunSettings settings, Dictionary<string, SafeSqlDataSource> dataSources)
    {
        var recorder = new Recorder();
        Recorder.Active = recorder;
        var connectionStrings = Enumerable.Range(0, settings.Pools).Select(p => ConnectionString(server, settings, p)).ToArray();
        var safeSqlPools = settings.Mode == ModeSafeSql ? Enumerable.Range(0, settings.Pools).Select(p => DataSourceFor(server, settings, dataSources, p)).ToArray() : null;
        var dataSourceText = "tcp:" + server;
        var clock = Stopwatch.StartNew();
        long lastSuccessMs = 0;
        var next = 0;
        var lanes = Enumerable.Range(0, Math.Min(settings.Concurrency, settings.Requests)).Select(_ => Task.Run(async () =>
        {
            int request;
            while ((request = Interlocked.Increment(ref next)) <= settings.Requests)
            {
                using var deadline = new CancellationTokenSource(settings.RequestTimeout);
                var pool = request % settings.Pools;
                try
                {
                    var connection = safeSqlPools is not null
                        ? settings.Sync ? safeSqlPools[pool].OpenConnection() : await safeSqlPools[pool].OpenConnectionAsync(deadline.Token)
                        : await OpenRawAsync(connectionStrings[pool], settings.Sync, deadline.Token);

                    await using (connection)
                    {
                        await using var command = new SqlCommand("SELECT 1", connection);
                        await command.ExecuteScalarAsync(deadline.Token);
                    }

                    recorder.Succeeded();
                    InterlockedMax(ref lastSuccessMs, clock.ElapsedMilliseconds);
                }
                catch (OperationCanceledException) when (deadline.IsCancellationRequested)
                {
                    // The request ran out of time (a web request's own timeout): not a classified open failure.
                    recorder.TimedOut();
                }
                catch (Exception ex)
                {
                    // The request failed: what reached the calling code, classified as SafeSql would (OS evidence and the shared
                    // diagnostic connect included, without blocking a thread).
                    var failure = await SqlFailureClassifier.ClassifyAsync(ex, dataSourceText);
                    recorder.Failed(ex, failure, surfaced: true);
                }
            }
        })).ToArray();
        await Task.WhenAll(lanes);
        clock.Stop();

        var tcp = SafeSqlTcpProbe.Capture(ParseEndPoint(server));
        return new Dictionary<string, object?>
        {
            ["event"] = "ran",
            ["host"] = host,
            ["mode"] = settings.Mode,
            ["sqlClient"] = SqlClientVersion,
            ["requests"] = settings.Requests,
            ["succeeded"] = recorder.SucceededCount,
            ["failed"] = recorder.FailedCount + recorder.TimedOutCount,
            ["requestTimeouts"] = recorder.TimedOutCount,
            ["failuresByKind"] = recorder.Surfaced,
            ["attemptFailuresByKind"] = recorder.Attempts,
            ["attemptFailuresByNumber"] = recorder.Numbers,
            ["retries"] = recorder.RetryCount,
            ["retryDelaysMs"] = recorder.RetryDelays,
            ["elapsedMs"] = clock.ElapsedMilliseconds,
            ["drainMs"] = lastSuccessMs,
            ["shapes"] = recorder.Shapes,
            ["tcp"] = new Dictionary<string, object?>
            {
                ["ephemeralPortRange"] = $"{tcp.EphemeralPortRangeStart}-{tcp.EphemeralPortRangeEnd}",
                ["ephemeralPorts"] = tcp.EphemeralPortCount,
                ["tcpTimeWaitReuse"] = tcp.TcpTimeWaitReuse,
                ["connectionsTowardsServer"] = tcp.ConnectionsTowardsEndPoint,
                ["timeWaitTowardsServer"] = tcp.TimeWaitTowardsEndPoint,
                ["indicatesExhaustion"] = tcp.IndicatesExhaustion,
            },
        };
    }

    private static async Task<SqlConnection> OpenRawAsync(string connectionString, bool sync, CancellationToken cancellationToken)
    {
        var connection = new SqlConnection(connectionString);
        try
        {
            // Open() blocks this thread-pool thread for the whole connect, as classic ASP.NET did; OpenAsync of a non-pooled
            // connection waits in SqlClient's small per-process queue of pending opens (Environment.ProcessorCount).
            if (sync)
            {
                connection.Open();
            }
            else
            {
                await connection.OpenAsync(cancellationToken);
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static string ConnectionString(string server, RunSettings settings, int pool = 0) => new SqlConnectionStringBuilder
    {
        DataSource = "tcp:" + server,
        UserID = LoopbackSqlServerOptions.DefaultUserName,
        Password = LoopbackSqlServerOptions.DefaultPassword,
        Encrypt = SqlConnectionEncryptOption.Optional,
        ConnectRetryCount = 0,
        ConnectTimeout = settings.ConnectTimeoutSeconds,
        Pooling = settings.Mode != ModeRawUnpooled,
        MaxPoolSize = settings.MaxPoolSize,
        PoolBlockingPeriod = settings.NeverBlock ? PoolBlockingPeriod.NeverBlock : PoolBlockingPeriod.Auto,
        ApplicationName = string.Create(CultureInfo.InvariantCulture, $"SafeSql.WebFarm {settings.Mode} #{pool}"), // one pool per mode and pool index
    }.ConnectionString;

    private static SafeSqlDataSource DataSourceFor(string server, RunSettings settings, Dictionary<string, SafeSqlDataSource> dataSources, int pool = 0)
    {
        var key = settings.Key + "/" + pool.ToString(CultureInfo.InvariantCulture);
        if (!dataSources.TryGetValue(key, out var dataSource))
        {
            var builder = new SafeSqlDataSourceBuilder(ConnectionString(server, settings, pool));
            builder.Options.ConnectionStringPolicy.AllowUnencryptedConnection = true; // the farm's private network, no TLS: CPU for connects
            builder.Options.OpenTimeout = settings.RequestTimeout; // the request's own budget bounds the open, retries included
            builder.Options.OpenRetry = new SqlRetryStrategyOptions
            {
                MaxRetryAttempts = settings.Retries,
                Delay = settings.Delay,
                MaxDelay = settings.MaxDelay,
                OnRetry = args =>
                {
                    Recorder.Active?.Retried(args.Context.Properties.TryGetValue(s_failureKey, out var failure) ? failure : null, args.RetryDelay);
                    return default;
                },
            };
            dataSource = builder.Build();
            dataSources[key] = dataSource;
        }

        return dataSource;
    }

    private static IPEndPoint ParseEndPoint(string server)
    {
        var parts = server.Split(',');
        return new IPEndPoint(IPAddress.Parse(parts[0]), int.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    private static Dictionary<string, string> ParseOptions(IEnumerable<string> args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        string? name = null;
        foreach (var arg in args)
        {
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                name = arg[2..];
                options[name] = string.Empty;
            }
            else if (name is not null)
            {
                options[name] = arg;
                name = null;
            }
        }

        return options;
    }

    private static void InterlockedMax(ref long target, long value)
    {
        var current = Interlocked.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    private static void Print(Dictionary<string, object?> value)
    {
        Console.Out.WriteLine(JsonSerializer.Serialize(value));
        Console.Out.Flush();
    }

    /// <summary>The settings of one <c>run</c> or <c>warm</c> command.</summary>
    private sealed record RunSettings(string Mode, int Requests, int Concurrency, int ConnectTimeoutSeconds, TimeSpan RequestTimeout, int Retries, TimeSpan Delay, TimeSpan MaxDelay, int MaxPoolSize, int Pools, bool Sync, bool NeverBlock)
    {
        public string Key => string.Create(CultureInfo.InvariantCulture, $"{ConnectTimeoutSeconds}/{Retries}/{Delay.TotalMilliseconds}/{MaxDelay.TotalMilliseconds}/{MaxPoolSize}/{NeverBlock}");

        public static RunSettings From(Dictionary<string, string> run)
        {
            int Get(string name, int fallback) => run.TryGetValue(name, out var text) && text.Length > 0 ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;
            return new RunSettings(
                run.GetValueOrDefault("mode", ModeRawUnpooled),
                Get("requests", 50),
                Get("concurrency", 50),
                Get("connectTimeout", 3),
                TimeSpan.FromMilliseconds(Get("requestTimeoutMs", 10_000)),
                Get("retries", 6),
                TimeSpan.FromMilliseconds(Get("delayMs", 200)),
                TimeSpan.FromMilliseconds(Get("maxDelayMs", 2000)),
                Get("maxPoolSize", 100),
                Math.Max(1, Get("pools", 1)),
                Get("sync", 0) == 1,
                Get("neverBlock", 0) == 1);
        }
    }

    /// <summary>Counts one run: requests, every failed attempt by kind and number, the exception shapes, SafeSql's retries.</summary>
    private sealed class Recorder
    {
        private const int MaxDelaysKept = 400;
        private readonly ConcurrentDictionary<string, long> _surfaced = new();
        private readonly ConcurrentDictionary<string, long> _attempts = new();
        private readonly ConcurrentDictionary<string, long> _numbers = new();
        private readonly ConcurrentDictionary<string, Dictionary<string, object?>> _shapes = new();
        private readonly ConcurrentQueue<long> _delays = new();
        private long _succeeded;
        private long _failed;
        private long _retries;
        private long _timedOut;

        /// <summary>The recorder of the run in progress (one run at a time per client host).</summary>
        public static Recorder? Active { get; set; }


        public long SucceededCount => Interlocked.Read(ref _succeeded);

        public long FailedCount => Interlocked.Read(ref _failed);

        public long RetryCount => Interlocked.Read(ref _retries);

        public long TimedOutCount => Interlocked.Read(ref _timedOut);

        public SortedDictionary<string, long> Surfaced => new(_surfaced);

        public SortedDictionary<string, long> Attempts => new(_attempts);

        public SortedDictionary<string, long> Numbers => new(_numbers);

        public long[] RetryDelays => [.. _delays];

        public List<Dictionary<string, object?>> Shapes => [.. _shapes.OrderBy(static p => p.Key, StringComparer.Ordinal).Select(static p => p.Value)];

        public void Succeeded() => Interlocked.Increment(ref _succeeded);

        public void TimedOut() => Interlocked.Increment(ref _timedOut);

        public void Failed(Exception exception, SqlFailure failure, bool surfaced)
        {
            if (surfaced)
            {
                Interlocked.Increment(ref _failed);
                _surfaced.AddOrUpdate(failure.Kind.ToString(), 1, static (_, n) => n + 1);
            }

            Attempt(exception, failure);
        }

        public void Retried(SqlFailure? failure, TimeSpan delay)
        {
            Interlocked.Increment(ref _retries);
            if (_delays.Count < MaxDelaysKept)
            {
                _delays.Enqueue((long)delay.TotalMilliseconds);
            }

            if (failure?.Exception is { } exception)
            {
                Attempt(exception, failure);
            }
            else
            {
                _attempts.AddOrUpdate(failure?.Kind.ToString() ?? "?", 1, static (_, n) => n + 1);
            }
        }

        private void Attempt(Exception exception, SqlFailure failure)
        {
            var kind = failure.Kind.ToString();
            _attempts.AddOrUpdate(kind, 1, static (_, n) => n + 1);
            var sql = exception as SqlException ?? exception.InnerException as SqlException;
            var number = sql?.Number.ToString(CultureInfo.InvariantCulture) ?? exception.GetType().Name;
            _numbers.AddOrUpdate($"{kind} {number}", 1, static (_, n) => n + 1);
            var inner = sql?.InnerException ?? exception.InnerException;
            var key = $"{kind}|{number}|{inner?.GetType().Name}|{(inner as SocketException)?.SocketErrorCode}|{sql?.Class}|{sql?.State}";
            var shape = _shapes.GetOrAdd(key, _ => new Dictionary<string, object?>
            {
                ["kind"] = kind,
                ["type"] = exception.GetType().FullName,
                ["number"] = sql?.Number,
                ["class"] = sql is null ? null : (int)sql.Class,
                ["state"] = sql is null ? null : (int)sql.State,
                ["innerType"] = inner?.GetType().FullName,
                ["innerSocketError"] = (inner as SocketException)?.SocketErrorCode.ToString(),
                ["innerNativeError"] = (inner as SocketException)?.NativeErrorCode,
                ["innerMessage"] = inner?.Message,
                ["message"] = exception.Message,
                ["sqlMessage"] = sql is not null && !ReferenceEquals(sql, exception) ? sql.Message : null,
                ["explanation"] = failure.Explanation,
                ["count"] = 0L,
            });
            lock (shape)
            {
                shape["count"] = (long)shape["count"]! + 1;
            }
        }
    }
}
