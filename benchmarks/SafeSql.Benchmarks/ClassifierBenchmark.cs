using System.Net;

using BenchmarkDotNet.Attributes;

using Microsoft.Data.SqlClient;

using SafeSql.Diagnostics;
using SafeSql.Testing;

namespace SafeSql.Benchmarks;

/// <summary>
/// The cost of <see cref="SqlFailureClassifier"/> per failure kind. Every exception is a real one, thrown by the real
/// Microsoft.Data.SqlClient against the loopback server's faults in <see cref="GlobalSetup"/>, then classified again and
/// again. Baseline: the hand-written transient check applications use today (a switch over <c>SqlException.Errors</c>,
/// as EF Core's SqlServerTransientExceptionDetector does), which tells far less.
/// </summary>
/// <remarks>
/// Run: <c>dotnet run -c Release --project benchmarks/SafeSql.Benchmarks -- --filter '*ClassifierBenchmark*'</c>.
/// The refusal case includes the operating-system evidence, cached per endpoint for 1 s (a burst of failures probes once);
/// <see cref="OsTcpProbe_Capture"/> is the full, uncached probe (the kernel walks its connection table for /proc/net/tcp and
/// tcp6); <see cref="OsTcpProbe_CaptureForClassification"/> is what the classifier runs first (/proc/net/sockstat totals).
/// </remarks>
[MemoryDiagnoser]
public class ClassifierBenchmark
{
    private LoopbackSqlServer? _server;
    private string _dataSource = string.Empty;
    private IPEndPoint _endPoint = new(IPAddress.Loopback, 1433);
    private Exception _poolTimeout = null!;
    private Exception _commandTimeout = null!;
    private Exception _connectTimeout = null!;
    private Exception _deadlock = null!;
    private Exception _loginFailed = null!;
    private Exception _syntaxError = null!;
    private Exception _connectionBroken = null!;
    private Exception _refused = null!;

    [GlobalSetup]
    public void GlobalSetup()
    {
        _server = LoopbackSqlServer.StartAsync().GetAwaiter().GetResult();
        _dataSource = $"tcp:127.0.0.1,{_server.Port}";
        _endPoint = _server.EndPoint;
        _server.BatchHandler = request => request.Sql.Contains("UPDATE", StringComparison.Ordinal)
            ? LoopbackResponse.Error(1205, 13, 51, "Transaction (Process ID 51) was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction.")
            : null;

        // Pool timeout: Max Pool Size=1 held, Connect Timeout=1.
        var pooled = ConnectionString(b => { b.MaxPoolSize = 1; b.ConnectTimeout = 1; });
        using (var held = Open(pooled))
        {
            _poolTimeout = Capture(() => Open(pooled).Dispose());
        }

        using (var connection = Open(ConnectionString()))
        {
            _commandTimeout = Capture(() => Execute(connection, "WAITFOR DELAY '00:00:05'", commandTimeout: 1));
        }

        using (var connection = Open(ConnectionString()))
        {
            _deadlock = Capture(() => Execute(connection, "UPDATE Orders SET Total = 1"));
            _syntaxError = Capture(() => Execute(connection, "SELEC 1"));
        }

        using (var connection = Open(ConnectionString()))
        {
            _server.Faults.KillAllConnections();
            _connectionBroken = Capture(() => Execute(connection, "SELECT 1"));
        }

        _loginFailed = Capture(() => Open(ConnectionString(b => b.Password = "wrong")).Dispose());
        _server.Faults.IgnorePrelogin = true;
        _connectTimeout = Capture(() => Open(ConnectionString(b => b.ConnectTimeout = 1)).Dispose());
        _server.Faults.IgnorePrelogin = false;
        _server.Faults.RefuseConnections = true;
        _refused = Capture(() => Open(ConnectionString(b => b.ConnectTimeout = 1)).Dispose());
    }

    [GlobalCleanup]
    public void GlobalCleanup()
    {
        SqlConnection.ClearAllPools();
        _server?.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true)]
    public bool HandWrittenTransientCheck_Deadlock() => IsTransientByNumber(_deadlock);

    [Benchmark]
    public SqlFailureKind Classify_Deadlock1205() => SqlFailureClassifier.Classify(_deadlock).Kind;

    [Benchmark]
    public SqlFailureKind Classify_SyntaxError102() => SqlFailureClassifier.Classify(_syntaxError).Kind;

    [Benchmark]
    public SqlFailureKind Classify_Login18456() => SqlFailureClassifier.Classify(_loginFailed).Kind;

    [Benchmark]
    public SqlFailureKind Classify_PoolTimeout() => SqlFailureClassifier.Classify(_poolTimeout).Kind;

    [Benchmark]
    public SqlFailureKind Classify_CommandTimeout() => SqlFailureClassifier.Classify(_commandTimeout).Kind;

    [Benchmark]
    public SqlFailureKind Classify_ConnectTimeout() => SqlFailureClassifier.Classify(_connectTimeout).Kind;

    [Benchmark]
    public SqlFailureKind ClassifyOpenFailure_ConnectTimeout() => SqlFailureClassifier.ClassifyOpenFailure(_connectTimeout, _dataSource).Kind;

    [Benchmark]
    public SqlFailureKind Classify_ConnectionBroken() => SqlFailureClassifier.Classify(_connectionBroken).Kind;

    [Benchmark]
    public SqlFailureKind ClassifyOpenFailure_Refused_CachedEvidence() => SqlFailureClassifier.ClassifyOpenFailure(_refused, _dataSource).Kind;

    [Benchmark]
    public int OsTcpProbe_Capture() => SafeSqlTcpProbe.Capture(_endPoint).EphemeralPortCount;

    [Benchmark]
    public int OsTcpProbe_CaptureForClassification() => SafeSqlTcpProbe.CaptureForClassification(_endPoint).EphemeralPortCount;

    private static bool IsTransientByNumber(Exception exception)
    {
        if (exception is SqlException sql)
        {
            foreach (SqlError error in sql.Errors)
            {
                switch (error.Number)
                {
                    case 1205:
                    case 40613:
                    case 40501:
                    case 40197:
                    case 10928:
                    case 10929:
                    case 4060:
                    case 233:
                    case 10053:
                    case 10054:
                    case 10060:
                        return true;
                }
            }
        }

        return exception is TimeoutException;
    }

    private string ConnectionString(Action<SqlConnectionStringBuilder>? configure = null)
    {
        var builder = new SqlConnectionStringBuilder(_server!.ConnectionString) { ApplicationName = $"ClassifierBenchmark.{Guid.NewGuid():N}" };
        configure?.Invoke(builder);
        return builder.ConnectionString;
    }

    private static SqlConnection Open(string connectionString)
    {
        var connection = new SqlConnection(connectionString);
        try
        {
            connection.Open();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static void Execute(SqlConnection connection, string sql, int commandTimeout = 30)
    {
        using var command = new SqlCommand(sql, connection) { CommandTimeout = commandTimeout };
        command.ExecuteNonQuery();
    }

    private static Exception Capture(Action action)
    {
        try
        {
            action();
        }
        catch (Exception ex)
        {
            return ex;
        }

        throw new InvalidOperationException("The fault did not produce an exception: the benchmark would measure nothing.");
    }
}
