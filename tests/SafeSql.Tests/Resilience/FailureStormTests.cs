using System.Diagnostics;
using System.Net.Sockets;

using Microsoft.Data.SqlClient;

using SafeSql.Classification;
using SafeSql.Diagnostics;
using SafeSql.Leases;
using SafeSql.Testing;
using SafeSql.Tests.Leases;
using SafeSql.Tests.TestUtilities;

using static SafeSql.Tests.Classification.SqlFailureClassifierTests;

namespace SafeSql.Tests.Resilience;

/// <summary>Runs alone: it watches the process's thread-pool size, which other tests running at the same time would change.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FailureStormGroup
{
    public const string Name = "Failure storms (not parallel)";
}

/// <summary>
/// A thousand concurrent asynchronous opens through one data source during a failure storm: every failure is classified,
/// the operating-system evidence is gathered once per endpoint (one diagnostic connect in flight, shared), no thread-pool
/// thread blocks on it, and the storm ends within a bound of the connect timeout.
/// </summary>
[Collection(FailureStormGroup.Name)]
public sealed class FailureStormTests
{
    private const int Opens = 1000;

    public enum Storm
    {
        /// <summary>Nothing listens: every connect is refused.</summary>
        Refused,

        /// <summary>The server resets each connection before answering the pre-login, as a full accept queue does with tcp_abort_on_overflow=1.</summary>
        OverflowReset,

        /// <summary>The listener's accept queue is full and every SYN is dropped (Linux' default): 258 after Connect Timeout.</summary>
        OverflowSynDropped,
    }

    [Theory]
    [InlineData(Storm.Refused)]
    [InlineData(Storm.OverflowReset)]
    [InlineData(Storm.OverflowSynDropped)]
    public async Task OpenAsync_ThousandConcurrentOpensInAFailureStorm_AreAllClassifiedWithoutBlockingThreadPoolThreads(Storm storm)
    {
        // Arrange: one pooled data source, classification on and retries off (each failure is classified, logged and counted once).
        await using var server = await LoopbackSqlServer.StartAsync();
        using var listener = storm == Storm.OverflowSynDropped ? await FullAcceptQueueListener.StartAsync() : null;
        var connectionString = listener is not null
            ? UnreachableConnectionString(listener.DataSource, b => b.Pooling = true)
            : ConnectionString(server, b => b.ConnectTimeout = 2);
        server.Faults.RefuseConnections = storm == Storm.Refused;
        server.Faults.ResetOnAccept = storm == Storm.OverflowReset;
        await using var harness = new FactoryHarness(connectionString, configureOptions: o => o.OpenRetry = null);
        var probesBefore = OsTcpEvidenceSource.Shared.AsyncConnectsStarted;
        var threadsBefore = ThreadPool.ThreadCount;
        using var sampler = new ThreadPoolSampler();

        // Act
        var clock = Stopwatch.StartNew();
        var outcomes = await Task.WhenAll(Enumerable.Range(0, Opens).Select(_ => Task.Run(async () =>
        {
            try
            {
                await using var connection = await harness.Factory.OpenConnectionAsync();
                return null;
            }
            catch (Exception ex)
            {
                return ex;
            }
        })));
        var elapsed = clock.Elapsed;
        var peakThreads = sampler.Stop();

        // Assert: every open failed and was classified once, either by the pipeline (the failures counter, tagged with the
        // kind) or, for an open that waited in SqlClient's pool queue until Connect Timeout, as a pool timeout (counted once).
        Assert.All(outcomes, Assert.NotNull);
        var failures = harness.Failures();
        var poolTimeouts = harness.MeasurementsOf("db.client.connection.timeouts").Sum(m => m.Value);
        Assert.Equal(Opens, failures.Count + poolTimeouts);
        Assert.Equal(poolTimeouts, outcomes.Count(e => e is SqlConnectionPoolExhaustedException));
        var expectedKinds = storm switch
        {
            Storm.Refused => new[] { "connection_refused" },
            Storm.OverflowReset => ["listen_backlog_overflow"],
            _ => ["connect_timeout", "listen_backlog_overflow"],
        };
        Assert.All(failures, m => Assert.Contains((string)m.Tags[SafeSqlMetrics.FailureKindTag]!, expectedKinds));
        if (storm != Storm.OverflowSynDropped)
        {
            Assert.Equal(Opens, failures.Count);
        }

        // One diagnostic connect per endpoint and cache period (1 s), shared by every concurrent failure.
        var probes = OsTcpEvidenceSource.Shared.AsyncConnectsStarted - probesBefore;
        Assert.InRange(probes, 1, 1 + (int)elapsed.TotalSeconds);

        // No thread-pool thread blocked on the evidence: the pool grows by at most a few threads beyond the processors.
        Assert.True(
            peakThreads <= Math.Max(threadsBefore, Environment.ProcessorCount) + Environment.ProcessorCount + 4,
            $"The thread pool grew from {threadsBefore} to {peakThreads} threads during the storm ({Environment.ProcessorCount} processors).");

        // The storm ends within a bound of Connect Timeout (2 s): the evidence adds at most one bounded probe (500 ms).
        Assert.True(elapsed < TimeSpan.FromSeconds(2 * 3 + 5), $"The storm took {elapsed.TotalSeconds:F1} s.");
    }

    /// <summary>Samples <see cref="ThreadPool.ThreadCount"/> every millisecond or so on a dedicated thread (not a pool thread).</summary>
    private sealed class ThreadPoolSampler : IDisposable
    {
        private readonly Thread _thread;
        private volatile bool _stop;
        private int _peak;

        public ThreadPoolSampler()
        {
            _peak = ThreadPool.ThreadCount;
            _thread = new Thread(() =>
            {
                while (!_stop)
                {
                    _peak = Math.Max(_peak, ThreadPool.ThreadCount);
                    Thread.Sleep(1);
                }
            })
            { IsBackground = true, Name = "thread-pool sampler" };
            _thread.Start();
        }

        public int Stop()
        {
            _stop = true;
            _thread.Join();
            return _peak;
        }

        public void Dispose() => Stop();
    }
}
