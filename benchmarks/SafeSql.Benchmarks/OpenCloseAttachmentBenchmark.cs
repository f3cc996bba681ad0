using System.Data;
using System.Runtime.CompilerServices;

using BenchmarkDotNet.Attributes;

using Microsoft.Data.SqlClient;

namespace SafeSql.Benchmarks;

/// <summary>
/// Why the leak sentinel rides on the <c>StateChange</c> subscription instead of a <see cref="ConditionalWeakTable{TKey, TValue}"/>:
/// both make a finalizable sentinel live exactly as long as the connection; the table adds a dependent handle
/// and a lock per open. Attach + detach on one connection object, no I/O.
/// Run: <c>dotnet run -c Release --project benchmarks/SafeSql.Benchmarks -- --filter 'SafeSql.Benchmarks.OpenCloseAttachmentBenchmark.*'</c>.
/// </summary>
[MemoryDiagnoser]
public class OpenCloseAttachmentBenchmark
{
    private readonly SqlConnection _connection = new();
    private readonly ConditionalWeakTable<SqlConnection, Sentinel> _table = [];

    [Benchmark(Baseline = true)]
    public void StateChangeDelegate()
    {
        var sentinel = new Sentinel();
        StateChangeEventHandler handler = sentinel.OnStateChange;
        _connection.StateChange += handler;
        _connection.StateChange -= handler;
        sentinel.Release();
    }

    [Benchmark]
    public void ConditionalWeakTableAndStaticHandler()
    {
        var sentinel = new Sentinel();
        _table.Add(_connection, sentinel);
        _connection.StateChange += s_handler;
        _connection.StateChange -= s_handler;
        _table.Remove(_connection);
        sentinel.Release();
    }

    private static readonly StateChangeEventHandler s_handler = static (_, _) => { };

    private sealed class Sentinel
    {
        private static int s_finalized;

        ~Sentinel()
        {
            Interlocked.Increment(ref s_finalized);
        }

#pragma warning disable CA1816 // Mirrors LeaseSentinel: a normal close suppresses the finalizer.
        public void Release() => GC.SuppressFinalize(this);
#pragma warning restore CA1816

        public void OnStateChange(object sender, StateChangeEventArgs e)
        {
        }
    }
}
