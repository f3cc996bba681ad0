using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

using Microsoft.Data.SqlClient;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

using Polly;

using SafeSql.ConnectionStrings;
using SafeSql.Diagnostics;
using SafeSql.Leases;

namespace SafeSql;

/// <summary>
/// The root factory of one named SafeSql instance (a singleton): opens real pooled <see cref="SqlConnection"/>s through
/// the open retry pipeline (<c>SqlConnectionFactory.Resilience.cs</c>, driven by the failure classifier) and tracks each one with a
/// lease (<see cref="LeaseTracker"/>). Connections opened through the root itself are covered by the finalizer sentinel
/// and the held-too-long watchdog; scopes (<see cref="CreateScope"/>, and the DI scope of a request) add scope-end
/// enforcement.
/// </summary>
internal sealed partial class SqlConnectionFactory : ISqlConnectionFactory, ILeaseTrackerOwner, IDisposable, IAsyncDisposable
{
    private static readonly Func<string, SqlConnection> s_open = static connectionString =>
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
    };

    private static readonly Func<string, CancellationToken, ValueTask<SqlConnection>> s_openAsync = static async (connectionString, cancellationToken) =>
    {
        var connection = new SqlConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    };

    private readonly string _connectionString;
    private readonly ResiliencePipeline _openPipeline;
    private readonly bool _ownsMetrics;
    private volatile Exception? _lastOpenFailure;
    private volatile bool _disposed;

    public SqlConnectionFactory(string name, SafeSqlOptions options, ILoggerFactory? loggerFactory = null, SafeSqlMetrics? metrics = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(options);
        Name = name;
        Options = options;
        LoggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        Logger = LoggerFactory.CreateLogger("SafeSql.SqlConnectionFactory");
        _ownsMetrics = metrics is null;
        Metrics = metrics ?? new SafeSqlMetrics(null);
        TimeProvider = timeProvider ?? TimeProvider.System;
        _connectionString = SqlConnectionStringNormalizer.Normalize(options);
        Tracker = new LeaseTracker(
            name,
            new SqlConnectionStringBuilder(_connectionString),
            options.Leaks ?? new SqlConnectionLeakOptions(),
            TimeProvider,
            Logger,
            Metrics);
        _openPipeline = CreateOpenPipeline();
    }

    public string Name { get; }

    internal SafeSqlOptions Options { get; }

    internal ILoggerFactory LoggerFactory { get; }

    /// <summary>Gets the logger of the factory (category "SafeSql.SqlConnectionFactory"), shared by its partials.</summary>
    internal ILogger Logger { get; }

    internal SafeSqlMetrics Metrics { get; }

    internal TimeProvider TimeProvider { get; }

    /// <summary>Gets the normalized connection string the factory opens (never log it: it holds the password).</summary>
    internal string ConnectionString => _connectionString;

    /// <summary>Gets the leases of this pool.</summary>
    public LeaseTracker Tracker { get; }

    /// <summary>Gets the last open failure if the most recent open attempt failed; <see langword="null"/> once an open succeeds.</summary>
    internal Exception? LastOpenFailure => _lastOpenFailure;

    /// <summary>Creates the root factory of the named instance from DI (options by name, logging, metrics, time).</summary>
    internal static SqlConnectionFactory Create(IServiceProvider services, string name)
    {
        var options = services.GetRequiredService<IOptionsMonitor<SafeSqlOptions>>().Get(name);
        return new SqlConnectionFactory(
            name,
            options,
            services.GetService<ILoggerFactory>(),
            services.GetService<SafeSqlMetrics>(),
            services.GetService<TimeProvider>());
    }

    public SqlConnection Open(
        [CallerMemberName] string callerMemberName = "",
        [CallerFilePath] string callerFilePath = "",
        [CallerLineNumber] int callerLineNumber = 0) =>
        OpenCore(null, callerMemberName, callerFilePath, callerLineNumber);

    public ValueTask<SqlConnection> OpenAsync(
        CancellationToken cancellationToken = default,
        [CallerMemberName] string callerMemberName = "",
        [CallerFilePath] string callerFilePath = "",
        [CallerLineNumber] int callerLineNumber = 0) =>
        OpenCoreAsync(null, callerMemberName, callerFilePath, callerLineNumber, cancellationToken);

    public ISqlConnectionScope CreateScope()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new SqlConnectionScope(this);
    }

    /// <summary>Opens through the pipeline, then starts the lease (owned by <paramref name="scope"/> if given).</summary>
    internal SqlConnection OpenCore(SqlConnectionScope? scope, string callerMemberName, string callerFilePath, int callerLineNumber)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var stack = Tracker.StackCapture == StackCaptureMode.Full ? new StackTrace(1, fNeedFileInfo: true) : null;
        SqlConnection connection;
        try
        {
            connection = OpenFirstAttemptThenPipeline();
        }
        catch (Exception ex) when (RecordOpenFailure(ex) && ex is InvalidOperationException poolTimeout && Tracker.IsPoolTimeout(poolTimeout))
        {
            throw Tracker.CreatePoolExhaustedException(poolTimeout);
        }

        OnOpened();
        Tracker.Track(connection, scope, callerMemberName, callerFilePath, callerLineNumber, stack);
        return connection;
    }

    /// <summary>Opens through the pipeline asynchronously, then starts the lease (owned by <paramref name="scope"/> if given).</summary>
    internal ValueTask<SqlConnection> OpenCoreAsync(SqlConnectionScope? scope, string callerMemberName, string callerFilePath, int callerLineNumber, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);

        // Captured before the first await: afterwards the caller's frames are no longer on this thread's stack.
        var stack = Tracker.StackCapture == StackCaptureMode.Full ? new StackTrace(1, fNeedFileInfo: true) : null;
        return OpenAndTrackAsync(scope, callerMemberName, callerFilePath, callerLineNumber, stack, cancellationToken);
    }

    /// <summary>Empties SqlClient's pool of this factory's connection string (idle connections are closed; leased ones when returned).</summary>
    internal void ClearPool()
    {
        using var connection = new SqlConnection(_connectionString);
        SqlConnection.ClearPool(connection);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Tracker.Dispose();
        if (_ownsMetrics)
        {
            Metrics.Dispose();
        }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private async ValueTask<SqlConnection> OpenAndTrackAsync(SqlConnectionScope? scope, string callerMemberName, string callerFilePath, int callerLineNumber, StackTrace? stack, CancellationToken cancellationToken)
    {
        SqlConnection connection;
        try
        {
            connection = await OpenFirstAttemptThenPipelineAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (RecordOpenFailure(ex) && ex is InvalidOperationException poolTimeout && Tracker.IsPoolTimeout(poolTimeout))
        {
            throw Tracker.CreatePoolExhaustedException(poolTimeout);
        }

        OnOpened();
        Tracker.Track(connection, scope, callerMemberName, callerFilePath, callerLineNumber, stack);
        return connection;
    }

    /// <summary>
    /// Opens once outside Polly (the hot path: no pipeline, no closure). Only when that attempt fails, and the failure is not
    /// a caller cancellation, does the pipeline run, with the first attempt's exception replayed as its first attempt, so
    /// attempt counts, delays, classification, logs (3000-3003) and metrics are those of running every attempt in Polly.
    /// </summary>
    private SqlConnection OpenFirstAttemptThenPipeline()
    {
        ExceptionDispatchInfo firstFailure;
        try
        {
            return s_open(_connectionString);
        }
        catch (Exception ex) when (!ReferenceEquals(_openPipeline, ResiliencePipeline.Empty))
        {
            firstFailure = ExceptionDispatchInfo.Capture(ex);
        }

        return _openPipeline.Execute(
            static state =>
            {
                state.RethrowFirstFailureOnce();
                return s_open(state.ConnectionString);
            },
            new ReplayState(_connectionString, firstFailure));
    }

    /// <summary>The asynchronous <see cref="OpenFirstAttemptThenPipeline"/>; a caller cancellation is rethrown as is.</summary>
    private async ValueTask<SqlConnection> OpenFirstAttemptThenPipelineAsync(CancellationToken cancellationToken)
    {
        ExceptionDispatchInfo firstFailure;
        try
        {
            return await s_openAsync(_connectionString, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!ReferenceEquals(_openPipeline, ResiliencePipeline.Empty)
            && !(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            firstFailure = ExceptionDispatchInfo.Capture(ex);
        }

        return await _openPipeline.ExecuteAsync(
            static (state, token) =>
            {
                state.RethrowFirstFailureOnce();
                return s_openAsync(state.ConnectionString, token);
            },
            new ReplayState(_connectionString, firstFailure),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Exception filter: remembers the failure for the health check (not a cancellation); always true.</summary>
    private bool RecordOpenFailure(Exception exception)
    {
        if (exception is not OperationCanceledException)
        {
            _lastOpenFailure = exception;
        }

        return true;
    }

    private void OnOpened()
    {
        // Read before write: no cache-line traffic on the hot path while opens keep succeeding.
        if (_lastOpenFailure is not null)
        {
            _lastOpenFailure = null;
        }
    }

    /// <summary>The state of a pipeline run after a failed first attempt (allocated only then).</summary>
    private sealed class ReplayState(string connectionString, ExceptionDispatchInfo firstFailure)
    {
        private ExceptionDispatchInfo? _firstFailure = firstFailure;

        public string ConnectionString { get; } = connectionString;

        /// <summary>
        /// On the pipeline's first attempt, rethrows the failure of the attempt made outside Polly (same instance, original
        /// stack); later attempts return and open for real.
        /// </summary>
        public void RethrowFirstFailureOnce() => Interlocked.Exchange(ref _firstFailure, null)?.Throw();
    }
}
