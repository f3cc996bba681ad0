using Microsoft.Data.SqlClient;

using Polly;
using Polly.CircuitBreaker;

using SafeSql.ConnectionStrings;
using SafeSql.Diagnostics;

namespace SafeSql;

/// <summary>
/// The data source's circuit breaker (<see cref="SafeSqlOptions.CircuitBreaker"/>): Polly's breaker outside the open retry,
/// counting whole opens that failed because the server is unavailable; while it is open every open fails at once, one probe at a
/// time watches for the server, and the first answer closes it. Also ends an asynchronous attempt that waits inside SqlClient
/// for a connect a probe saw refused.
/// </summary>
public sealed partial class SafeSqlDataSource
{
    private readonly CircuitBreakerManualControl _breakerControl = new();
    private readonly CircuitBreakerStateProvider _breakerState = new();
    private SqlServerProbe? _probe;
    private string _serverName = string.Empty;
    private TimeSpan _probeInterval;
    private volatile bool _circuitNotClosed;
    private long _unavailableSinceTicks;
    private int _watching;

    /// <summary>Gets the state of the circuit breaker (<see cref="CircuitState.Closed"/> when it is off).</summary>
    internal CircuitState CircuitState => _probe is null ? CircuitState.Closed : _breakerState.CircuitState;

    /// <summary>Gets the probe of the server (<see langword="null"/> when the breaker is off).</summary>
    internal SqlServerProbe? Probe => _probe;

    /// <summary>Gets when the breaker last opened (UTC), or <see langword="null"/> while it is closed.</summary>
    internal DateTimeOffset? UnavailableSince
    {
        get
        {
            var ticks = Interlocked.Read(ref _unavailableSinceTicks);
            return ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    /// <summary>
    /// The connection string with <c>Pool Blocking Period=NeverBlock</c> when the breaker is on and the string does not set the
    /// keyword: SqlClient's blocking period (5 s after a failed open, doubling to 60 s) would fail opens for up to a minute after
    /// the server is back; the breaker fails fast only while it is down, and a probe ends that as soon as it answers.
    /// </summary>
    private static string WithBreakerPoolBlocking(string normalized, SafeSqlOptions options)
    {
        // The string was accepted by the policy, so the front door reads it (it never surfaces SqlClient's message).
        if (options.CircuitBreaker is null || SqlConnectionStringParser.Parse(options.ConnectionString!).ReadWithSqlClient()?.ShouldSerialize("Pool Blocking Period") != false)
        {
            return normalized;
        }

        return new SqlConnectionStringBuilder(normalized) { PoolBlockingPeriod = PoolBlockingPeriod.NeverBlock }.ConnectionString;
    }

    /// <summary>Adds the breaker to the open pipeline (outside the retry), when the options turn it on.</summary>
    private void AddCircuitBreaker(ResiliencePipelineBuilder builder, string dataSource)
    {
        if (Options.CircuitBreaker is not { } options)
        {
            return;
        }

        _serverName = dataSource;
        _probeInterval = options.ProbeInterval;
        _probe = new SqlServerProbe(dataSource, TimeProvider, TimeSpan.FromMilliseconds(ClassificationDefaults.DiagnosticConnectTimeoutMilliseconds));
        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions
        {
            Name = options.Name,
            FailureRatio = options.FailureRatio,
            MinimumThroughput = options.MinimumThroughput,
            SamplingDuration = options.SamplingDuration,
            BreakDuration = options.BreakDuration,
            BreakDurationGenerator = options.BreakDurationGenerator,
            ManualControl = _breakerControl,
            StateProvider = _breakerState,
            ShouldHandle = ReferenceEquals(options.ShouldHandle, SqlCircuitBreakerStrategyOptions.DefaultShouldHandle) ? ShouldOpenCircuit : options.ShouldHandle,
            OnOpened = args => OnCircuitOpened(args, options),
            OnHalfOpened = options.OnHalfOpened,
            OnClosed = args => OnCircuitClosed(args, options),
        });
    }

    /// <summary>
    /// The breaker's ShouldHandle: the last failure the open retry classified (so a budget that ran out counts as the failure
    /// that used it up), else the exception's own classification.
    /// </summary>
    private ValueTask<bool> ShouldOpenCircuit(CircuitBreakerPredicateArguments<object> args)
    {
        if (args.Outcome.Exception is not { } exception)
        {
            return new ValueTask<bool>(false);
        }

        var failure = args.Context.Properties.GetValue(SqlRetryPolicy.FailureKey, null)
            ?? OpenRetryPolicy.Classify(exception is OperationCanceledException && args.Context.Properties.GetValue(FirstFailureKey, null) is { } first ? first : exception);
        return new ValueTask<bool>(SqlCircuitBreakerStrategyOptions.IsServerUnavailable(failure));
    }

    private ValueTask OnCircuitOpened(OnCircuitOpenedArguments<object> args, SqlCircuitBreakerStrategyOptions options)
    {
        _circuitNotClosed = true;

        // Logged and counted once per outage: a failed half-open trial opens the breaker again in the same one. The pool is not
        // cleared: SqlClient checks a pooled connection's socket before handing it out (a server that restarted is noticed
        // there), and SqlConnection.ClearPool while a storm of opens waits in SqlClient's pool left opens that never completed.
        if (Interlocked.CompareExchange(ref _unavailableSinceTicks, TimeProvider.GetUtcNow().UtcTicks, 0) == 0)
        {
            var failure = args.Context.Properties.GetValue(SqlRetryPolicy.FailureKey, null);
            var pool = PoolDisplayName.Of(Name);
            DataSourceLog.CircuitOpened(Logger, pool, _serverName, failure?.Kind ?? SqlFailureKind.Unknown, (long)args.BreakDuration.TotalMilliseconds, failure?.Explanation ?? args.Outcome.Exception?.Message ?? string.Empty);
            Metrics.RecordCircuitTransition(Telemetry.PoolName, "open");
        }

        if (Interlocked.CompareExchange(ref _watching, 1, 0) == 0)
        {
            _ = WatchForServerAsync(options.ProbeInterval);
        }

        return options.OnOpened?.Invoke(args) ?? default;
    }

    private ValueTask OnCircuitClosed(OnCircuitClosedArguments<object> args, SqlCircuitBreakerStrategyOptions options)
    {
        var since = UnavailableSince;
        _circuitNotClosed = false;
        Interlocked.Exchange(ref _unavailableSinceTicks, 0);
        var downFor = since is { } s ? (long)(TimeProvider.GetUtcNow() - s).TotalMilliseconds : 0;
        var pool = PoolDisplayName.Of(Name);
        DataSourceLog.CircuitClosed(Logger, pool, _serverName, downFor);
        Metrics.RecordCircuitTransition(Telemetry.PoolName, "closed");
        return options.OnClosed?.Invoke(args) ?? default;
    }

    /// <summary>While the breaker is not closed: a probe every <paramref name="interval"/>; the first answer closes the breaker.</summary>
    private async Task WatchForServerAsync(TimeSpan interval)
    {
        try
        {
            while (!_disposed && CircuitState != CircuitState.Closed)
            {
                await Task.Delay(interval, TimeProvider).ConfigureAwait(false);
                var result = await _probe!.ProbeAsync(TimeProvider.GetTimestamp()).ConfigureAwait(false);
                if (result == SqlServerProbeResult.Answered && !_disposed)
                {
                    await _breakerControl.CloseAsync().ConfigureAwait(false);
                }
            }
        }
        catch (ObjectDisposedException)
        {
            // The data source (and its pipeline) went away while watching.
        }
        finally
        {
            Volatile.Write(ref _watching, 0);
            if (!_disposed && CircuitState != CircuitState.Closed && Interlocked.CompareExchange(ref _watching, 1, 0) == 0)
            {
                _ = WatchForServerAsync(interval); // opened again between the last check and leaving
            }
        }
    }

    /// <summary>The exception of an open refused because the breaker is open: what is down, since when, when the next probe runs.</summary>
    private SqlServerUnavailableException CircuitOpenException(BrokenCircuitException broken)
    {
        return new SqlServerUnavailableException(SqlFailureKind.CircuitOpen, _serverName, UnavailableSince, _probeInterval, broken.InnerException);
    }

    /// <summary>
    /// Awaits an asynchronous attempt, never past the open's budget (<see cref="SafeSqlOptions.OpenTimeout"/>, counted from
    /// <paramref name="started"/>): SqlClient's pool serves queued asynchronous opens one after another, each with a connect of its
    /// own once no blocking period replays the last error, so in a storm against a server that does not answer an attempt can
    /// wait far longer than its <c>Connect Timeout</c>. When it is still waiting inside SqlClient after
    /// <see cref="RetryDefaults.RefusalCheckMilliseconds"/> with a connection of the pool free to be made (not every pooled
    /// connection leased) and a probe started since finds the endpoint refusing, or when the
    /// budget runs out (with <see cref="RetryDefaults.LateAttemptGraceMilliseconds"/> of grace, so SqlClient's own timeouts, due at
    /// the same moment by default, come first), the attempt is left (<see cref="LeaveAttemptAsync"/>) and the open fails with
    /// <see cref="SqlServerUnavailableException"/> (<see cref="SqlFailureKind.ConnectionRefused"/>, or
    /// <see cref="SqlFailureKind.ConnectTimeout"/>).
    /// </summary>
    /// <param name="connection">The connection being opened.</param>
    /// <param name="opening">Its <c>OpenAsync</c>.</param>
    /// <param name="started">When the open started (<see cref="TimeProvider.GetTimestamp"/>): the budget counts from it.</param>
    /// <param name="holderAttempt">For a holder's connection (EF Core's, which SafeSql must not dispose), the source of the token
    /// <paramref name="opening"/> was started with: the attempt is left by canceling it. <see langword="null"/> for the data
    /// source's own connections.</param>
    internal async Task AwaitAttemptAsync(SqlConnection connection, Task opening, long started, CancellationTokenSource? holderAttempt = null)
    {
        if (_probe is not null)
        {
            using var check = new CancellationTokenSource();
            var delay = Task.Delay(TimeSpan.FromMilliseconds(RetryDefaults.RefusalCheckMilliseconds), TimeProvider, check.Token);
            if (await Task.WhenAny(opening, delay).ConfigureAwait(false) == opening)
            {
                await check.CancelAsync().ConfigureAwait(false);
                await opening.ConfigureAwait(false);
                return;
            }

            // An open that waits for a leased connection to come back (every pooled connection leased) is not connecting, and a
            // busy pool would probe the server every half second for nothing.
            var probe = Tracker.LeasedCount < Tracker.MaxPoolSize ? _probe.ProbeAsync(started) : null;
            if (probe is not null && await Task.WhenAny(opening, probe).ConfigureAwait(false) != opening && probe.Result == SqlServerProbeResult.Refused && !opening.IsCompleted)
            {
                if (await LeaveAttemptAsync(connection, opening, holderAttempt).ConfigureAwait(false))
                {
                    return;
                }

                throw new SqlServerUnavailableException(SqlFailureKind.ConnectionRefused, _serverName, UnavailableSince, null, null);
            }
        }

        if (_openBudget == Timeout.InfiniteTimeSpan || opening.IsCompleted)
        {
            await opening.ConfigureAwait(false);
            return;
        }

        // SqlClient's own timeouts (Connect Timeout, the pool's wait: the budget's default) come first when they are on time, so a
        // pool timeout still names the holders; SafeSql stops waiting only when SqlClient is late.
        var remaining = _openBudget - TimeProvider.GetElapsedTime(started) + TimeSpan.FromMilliseconds(RetryDefaults.LateAttemptGraceMilliseconds);
        try
        {
            await opening.WaitAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, TimeProvider).ConfigureAwait(false);
        }
        catch (TimeoutException) when (!opening.IsCompleted)
        {
            if (await LeaveAttemptAsync(connection, opening, holderAttempt).ConfigureAwait(false))
            {
                return;
            }

            throw new SqlServerUnavailableException(SqlFailureKind.ConnectTimeout, _serverName, UnavailableSince, _openBudget, null);
        }
    }

    /// <summary>
    /// Stops waiting for an attempt. The data source's own connection is left to SqlClient: it is disposed when SqlClient ends the
    /// attempt, and its outcome observed. A holder's connection (EF Core's) stays the holder's: the attempt is canceled through
    /// <paramref name="holderAttempt"/>, which SqlClient's <c>OpenAsync</c> honours at once (the connection is closed again and can
    /// be opened later; a physical connection still being made goes to the pool when it is done).
    /// </summary>
    /// <returns><see langword="true"/> when the holder's attempt opened the connection before the cancellation reached it (the open
    /// succeeded after all); <see langword="false"/> when the attempt was left.</returns>
    private static async ValueTask<bool> LeaveAttemptAsync(SqlConnection connection, Task opening, CancellationTokenSource? holderAttempt)
    {
        if (holderAttempt is null)
        {
            _ = opening.ContinueWith(static (_, state) => ((SqlConnection)state!).Dispose(), connection, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return false;
        }

        await holderAttempt.CancelAsync().ConfigureAwait(false);
        await opening.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return opening.IsCompletedSuccessfully;
    }
}
