using System.Data.Common;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
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

namespace SafeSql;

/// <summary>
/// The data source of one SQL Server database: a <see cref="DbDataSource"/> that hands out the real
/// <see cref="SqlConnection"/> from SqlClient's pool, after SafeSql's connection-string policy accepted the string, with
/// every open tracked as a lease, every failed open classified and retried, and a leak reported with the line that opened
/// it. SqlClient ships no <c>SqlDataSource</c> (dotnet/SqlClient#2119); this is SafeSql's, shaped like Npgsql's
/// <c>NpgsqlDataSource</c>.
/// </summary>
/// <remarks>
/// <para>
/// Create one per database and keep it for the life of the application (it is thread-safe): <see cref="Create(string)"/> or a
/// <see cref="SafeSqlDataSourceBuilder"/> without a host, or <c>services.AddSafeSql(...)</c>, which registers it (and
/// <see cref="DbDataSource"/>) as a singleton and <see cref="ISqlConnectionFactory"/> as the scoped view for request code.
/// </para>
/// <para>
/// Three ways to get a connection, each tracked: <see cref="OpenConnection"/> / <see cref="OpenConnectionAsync"/> (open,
/// through the open retry pipeline; the lease records the calling line); <see cref="CreateConnection"/> (unopened, for
/// code that opens and closes it itself, such as EF Core: a lease per open, recording the line that created it); and
/// <see cref="CreateScope"/> for a unit of work whose end disposes and reports what is still open. A connection opened
/// outside a scope and dropped without <c>Dispose</c> is reported when the garbage collector finds it; one held longer than
/// <see cref="SqlConnectionLeakOptions.LeakDetectionThreshold"/> is reported by the watchdog.
/// </para>
/// <para>
/// Through a <see cref="DbDataSource"/> reference (the base type's <c>OpenConnection</c>, <c>CreateConnection</c>,
/// <c>CreateCommand</c>) the call site is unknown: leases then record none, unless
/// <see cref="SqlConnectionLeakOptions.StackCapture"/> is <see cref="SqlConnectionStackCaptureMode.Full"/>.
/// </para>
/// <para>
/// All data sources (and named instances) whose connection strings normalize to the same string share one SqlClient pool,
/// and so one lease tracker: the first one created names the pool in logs and metrics and sets its leak options.
/// </para>
/// </remarks>
public sealed partial class SafeSqlDataSource : DbDataSource
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

    private readonly ILoggerFactory _loggerFactory;
    private readonly string _connectionString;
    private readonly string _connectionStringWithoutPassword;
    private readonly ResiliencePipeline _openPipeline;
    private readonly TimeSpan _openBudget;
    private readonly bool _ownsMetrics;
    private volatile Exception? _lastOpenFailure;
    private volatile bool _disposed;
    private int _rootScopeReported;

    /// <summary>Creates a data source (the policy is not run here: <see cref="SafeSqlDataSourceBuilder.Build"/> and DI's
    /// options validation run it first).</summary>
    internal SafeSqlDataSource(string name, SafeSqlOptions options, ILoggerFactory? loggerFactory = null, SafeSqlMetrics? metrics = null, TimeProvider? timeProvider = null, bool ownsMetrics = false)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(options);
        Name = name;
        Options = options;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        Logger = _loggerFactory.CreateLogger("SafeSql.SafeSqlDataSource");
        _ownsMetrics = metrics is null || ownsMetrics;
        Metrics = metrics ?? new SafeSqlMetrics(null);
        TimeProvider = timeProvider ?? TimeProvider.System;
        _connectionString = WithBreakerPoolBlocking(SqlConnectionStringNormalizer.Normalize(options), options);
        var builder = new SqlConnectionStringBuilder(_connectionString);
        builder.Remove("Password");
        _connectionStringWithoutPassword = builder.ConnectionString;
        Tracker = LeaseTrackerRegistry.Acquire(
            _connectionString,
            () => new LeaseTracker(name, new SqlConnectionStringBuilder(_connectionString), options.Leaks ?? new SqlConnectionLeakOptions(), TimeProvider, Logger, Metrics),
            out _);
        _openBudget = options.OpenTimeout ?? (builder.ConnectTimeout > 0 ? TimeSpan.FromSeconds(builder.ConnectTimeout) : Timeout.InfiniteTimeSpan);
        _openPipeline = CreateOpenPipeline(builder.DataSource);
    }

    /// <summary>Gets the instance name: the name given to <c>AddSafeSql</c> or <see cref="SafeSqlDataSourceBuilder.Name"/>;
    /// empty for the default instance, which logs and reports call "(default)".</summary>
    public string Name { get; }

    /// <summary>Gets the normalized connection string without its password (the connections this data source hands out
    /// carry it; this text never does, so it can be logged).</summary>
    public override string ConnectionString => _connectionStringWithoutPassword;

    internal SafeSqlOptions Options { get; }

    /// <summary>Gets the logger factory of the data source (<see cref="SafeSqlDataSourceBuilder.UseLoggerFactory"/>, or the host's):
    /// SafeSql's packages log their events under it. Part of the integration API (<c>SAFESQLEXP002</c>).</summary>
    /// <value>The factory given to the builder or the host; a factory that logs nothing when none was given.</value>
    [Experimental(IntegrationApi.ExperimentalId, UrlFormat = IntegrationApi.ExperimentalUrl)]
    public ILoggerFactory LoggerFactory => _loggerFactory;

    /// <summary>Gets the logger of the data source (category "SafeSql.SafeSqlDataSource"), shared by its partials.</summary>
    internal ILogger Logger { get; }

    internal SafeSqlMetrics Metrics { get; }

    internal TimeProvider TimeProvider { get; }

    /// <summary>Gets the normalized connection string the data source opens (never log it: it holds the password).</summary>
    internal string ConnectionStringWithPassword => _connectionString;

    /// <summary>Gets the leases of this pool (shared by every data source on the same pool).</summary>
    internal LeaseTracker Tracker { get; }

    /// <summary>Gets the last open failure if the most recent open attempt failed; <see langword="null"/> once an open succeeds.</summary>
    internal Exception? LastOpenFailure => _lastOpenFailure;

    /// <summary>Gets the root service provider of the container that created this data source (<see langword="null"/> without DI).</summary>
    internal IServiceProvider? RootServices { get; private init; }

    /// <summary>Creates a data source for <paramref name="connectionString"/> with the default options, after the
    /// connection-string policy accepted it.</summary>
    /// <param name="connectionString">The SQL Server connection string; normalized (one string per database, so one pool).</param>
    /// <returns>The data source. Dispose it when the application ends.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="connectionString"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="connectionString"/> is empty or white space.</exception>
    /// <exception cref="OptionsValidationException">The policy refused the string: the message names each rule broken
    /// (SAFESQL001...), the current value, the reason and the fix (docs/connection-string-policy.md), as at host startup.</exception>
    public static SafeSqlDataSource Create(string connectionString) => new SafeSqlDataSourceBuilder(connectionString).Build();

    /// <summary>Creates the data source of the named instance from DI (options by name, logging, metrics, time).</summary>
    internal static SafeSqlDataSource CreateFromServices(IServiceProvider services, string name)
    {
        var options = services.GetRequiredService<IOptionsMonitor<SafeSqlOptions>>().Get(name);
        return new SafeSqlDataSource(
            name,
            options,
            services.GetService<ILoggerFactory>(),
            services.GetService<SafeSqlMetrics>(),
            services.GetService<TimeProvider>())
        {
            RootServices = services,
        };
    }

    /// <summary>Opens a connection from the pool (retrying what deserves a retry) and starts its lease, recording the calling line.</summary>
    /// <param name="callerMemberName">Filled in by the compiler: the calling member.</param>
    /// <param name="callerFilePath">Filled in by the compiler: the calling file.</param>
    /// <param name="callerLineNumber">Filled in by the compiler: the calling line.</param>
    /// <returns>The open connection. Dispose it (<c>using</c>): that ends the lease and returns it to the pool.</returns>
    /// <exception cref="SqlException">Opening failed and was not retried, or retries gave up: the original exception, untouched.</exception>
    /// <exception cref="SqlConnectionPoolExhaustedException">The connection pool timed out; the message names the holders.</exception>
    /// <exception cref="SqlServerUnavailableException">The circuit breaker is open: the server is known to be unavailable, so the
    /// open failed at once (<see cref="SqlFailureKind.CircuitOpen"/>; <see cref="SafeSqlOptions.CircuitBreaker"/>).</exception>
    /// <exception cref="ObjectDisposedException">The data source was disposed.</exception>
    /// <remarks>Bounded by <see cref="SafeSqlOptions.OpenTimeout"/> (default <c>Connect Timeout</c>) between attempts; a synchronous
    /// attempt itself cannot be interrupted.</remarks>
    public SqlConnection OpenConnection(
        [CallerMemberName] string callerMemberName = "",
        [CallerFilePath] string callerFilePath = "",
        [CallerLineNumber] int callerLineNumber = 0) =>
        OpenCore(null, callerMemberName, callerFilePath, callerLineNumber);

    /// <summary>Opens a connection from the pool asynchronously (retrying what deserves a retry) and starts its lease,
    /// recording the calling line.</summary>
    /// <param name="cancellationToken">Cancels the open, including waits between retries.</param>
    /// <param name="callerMemberName">Filled in by the compiler: the calling member.</param>
    /// <param name="callerFilePath">Filled in by the compiler: the calling file.</param>
    /// <param name="callerLineNumber">Filled in by the compiler: the calling line.</param>
    /// <returns>The open connection. Dispose it (<c>await using</c>): that ends the lease and returns it to the pool.</returns>
    /// <exception cref="SqlException">Opening failed and was not retried, or retries gave up: the original exception, untouched.</exception>
    /// <exception cref="SqlConnectionPoolExhaustedException">The connection pool timed out; the message names the holders.</exception>
    /// <exception cref="SqlServerUnavailableException">The circuit breaker is open (<see cref="SqlFailureKind.CircuitOpen"/>), or a
    /// probe found nothing listening at the server while this open waited inside SqlClient and retries gave up
    /// (<see cref="SqlFailureKind.ConnectionRefused"/>).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled.</exception>
    /// <exception cref="ObjectDisposedException">The data source was disposed.</exception>
    /// <remarks>Bounded by <see cref="SafeSqlOptions.OpenTimeout"/> (default <c>Connect Timeout</c>), retries included: when it is
    /// spent, the last attempt's exception is rethrown.</remarks>
    public ValueTask<SqlConnection> OpenConnectionAsync(
        CancellationToken cancellationToken = default,
        [CallerMemberName] string callerMemberName = "",
        [CallerFilePath] string callerFilePath = "",
        [CallerLineNumber] int callerLineNumber = 0) =>
        OpenCoreAsync(null, callerMemberName, callerFilePath, callerLineNumber, cancellationToken);

    /// <summary>
    /// Creates an unopened connection that is tracked on every open: each <c>Open</c> starts a lease (recording the line
    /// that called <c>CreateConnection</c>), each <c>Close</c> or <c>Dispose</c> ends it. For code that opens and closes the
    /// connection itself (EF Core, a repository that opens around each query). Its opens are not retried by SafeSql.
    /// </summary>
    /// <param name="callerMemberName">Filled in by the compiler: the calling member.</param>
    /// <param name="callerFilePath">Filled in by the compiler: the calling file.</param>
    /// <param name="callerLineNumber">Filled in by the compiler: the calling line.</param>
    /// <returns>A new, closed connection with the normalized connection string. Dispose it.</returns>
    /// <exception cref="ObjectDisposedException">The data source was disposed.</exception>
    public SqlConnection CreateConnection(
        [CallerMemberName] string callerMemberName = "",
        [CallerFilePath] string callerFilePath = "",
        [CallerLineNumber] int callerLineNumber = 0) =>
        CreateConnectionCore(callerMemberName, callerFilePath, callerLineNumber);

    /// <summary>Creates a scope, a unit of work that owns the leases of the connections opened through it: disposing it
    /// disposes what is still open and reports each as a leak (<see cref="SqlConnectionLeakKind.NotDisposedBeforeScopeEnd"/>).</summary>
    /// <returns>The scope. Dispose it (<c>await using</c>) at the end of the unit of work.</returns>
    /// <exception cref="ObjectDisposedException">The data source was disposed.</exception>
    public ISqlConnectionScope CreateScope()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new SqlConnectionScope(this);
    }

    /// <summary>Takes a live snapshot of the pool: leases now, Max Pool Size, oldest lease, top call sites.</summary>
    /// <returns>The snapshot of the whole SqlClient pool (every data source and scope on it).</returns>
    /// <remarks>Cost: one pass over the active leases under short per-stripe locks; fine for health checks and dashboards,
    /// not for every request.</remarks>
    public SqlConnectionPoolSnapshot GetPoolSnapshot() => Tracker.GetSnapshot();

    /// <summary>The scoped <see cref="ISqlConnectionFactory"/> of a DI scope. Resolved from the root provider (a singleton
    /// holding it, or ValidateScopes off), a scope would live, and hold its connections, until shutdown: that is reported
    /// (event 1004) and the root gets a view that does not hold connections, so leaks there stay detectable.</summary>
    internal ISqlConnectionFactory CreateServiceScope(IServiceProvider provider)
    {
        if (RootServices is not null && ReferenceEquals(provider, RootServices))
        {
            if (Interlocked.Exchange(ref _rootScopeReported, 1) == 0)
            {
                DataSourceLog.ScopedFactoryResolvedFromRoot(Logger, PoolDisplayName.Of(Name));
            }

            return new UnscopedSqlConnectionFactory(this);
        }

        return CreateScope();
    }

    /// <inheritdoc/>
    protected override DbConnection CreateDbConnection() => CreateConnectionCore(null, null, 0);

    /// <inheritdoc/>
    protected override DbConnection OpenDbConnection() => OpenCore(null, null, null, 0);

    /// <inheritdoc/>
    protected override async ValueTask<DbConnection> OpenDbConnectionAsync(CancellationToken cancellationToken = default) =>
        await OpenCoreAsync(null, null, null, 0, cancellationToken).ConfigureAwait(false);

    /// <summary>Opens through the pipeline, then starts the lease (owned by <paramref name="scope"/> if given).</summary>
    private SqlConnection OpenAndStartLease(SqlConnectionScope? scope, string? callerMemberName, string? callerFilePath, int callerLineNumber)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var stack = Tracker.StackCapture == SqlConnectionStackCaptureMode.Full ? new StackTrace(1, fNeedFileInfo: true) : null;
        SqlConnection connection;
        try
        {
            connection = OpenFirstAttemptThenPipeline();
        }
        catch (Exception ex) when (RecordOpenFailure(ex))
        {
            throw;
        }

        OnOpened();
        Tracker.Track(connection, scope, callerMemberName, callerFilePath, callerLineNumber, stack);
        return connection;
    }

    /// <summary>Opens through the pipeline asynchronously, then starts the lease (owned by <paramref name="scope"/> if given).</summary>
    private ValueTask<SqlConnection> OpenAndStartLeaseAsync(SqlConnectionScope? scope, string? callerMemberName, string? callerFilePath, int callerLineNumber, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);

        // Captured before the first await: afterwards the caller's frames are no longer on this thread's stack.
        var stack = Tracker.StackCapture == SqlConnectionStackCaptureMode.Full ? new StackTrace(1, fNeedFileInfo: true) : null;

        if (_circuitNotClosed)
        {
            // The breaker is open or half-open: no attempt outside it.
            return OpenAndTrackAsync(scope, callerMemberName, callerFilePath, callerLineNumber, stack, null, null, TimeProvider.GetTimestamp(), cancellationToken);
        }

        // A pooled open usually completes synchronously: then no async state machine runs at all, and no clock is read (the
        // open's budget counts from here only for an open that did not complete at once, microseconds after it started).
        var (connection, opening) = StartOpen(cancellationToken);

        if (!opening.IsCompletedSuccessfully)
        {
            return OpenAndTrackAsync(scope, callerMemberName, callerFilePath, callerLineNumber, stack, connection, opening, TimeProvider.GetTimestamp(), cancellationToken);
        }

        OnOpened();
        try
        {
            Tracker.Track(connection, scope, callerMemberName, callerFilePath, callerLineNumber, stack);
        }
        catch (ObjectDisposedException ex)
        {
            return ValueTask.FromException<SqlConnection>(ex);
        }

        return new ValueTask<SqlConnection>(connection);
    }

    /// <summary>Empties SqlClient's pool of this data source's connection string (idle connections are closed; leased ones when returned).</summary>
    internal void ClearPool()
    {
        using var connection = new SqlConnection(_connectionString);
        SqlConnection.ClearPool(connection);
    }

    /// <summary>Disposes the data source: it hands out no more connections; the last data source on a pool stops the
    /// watchdog and reports the connections still leased (event 1003). Connections already handed out stay usable.</summary>
    /// <param name="disposing"><see langword="true"/> from <c>Dispose</c>.</param>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            DisposeCore();
        }

        base.Dispose(disposing);
    }

    /// <inheritdoc/>
    protected override ValueTask DisposeAsyncCore()
    {
        DisposeCore();
        return base.DisposeAsyncCore();
    }

    private void DisposeCore()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        var snapshot = Tracker.LeasedCount > 0 ? Tracker.GetSnapshot() : null;
        if (LeaseTrackerRegistry.Release(_connectionString, Tracker) && snapshot is not null)
        {
            DataSourceLog.DataSourceDisposedWithLeases(Logger, PoolDisplayName.Of(Name), snapshot.LeasedCount, snapshot.OldestLease?.ToString() ?? "unknown");
        }

        if (_ownsMetrics)
        {
            Metrics.Dispose();
        }
    }

    /// <summary>Creates an unopened connection tracked on every open (see <see cref="CreateConnection"/>).</summary>
    private SqlConnection CreateConnectionCore(string? callerMemberName, string? callerFilePath, int callerLineNumber)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var connection = new SqlConnection(_connectionString);
        connection.StateChange += new PerOpenLeaseSentinel(Tracker, callerMemberName, callerFilePath, callerLineNumber, notesPhysicalConnection: true).OnStateChange;
        return connection;
    }

    private async ValueTask<SqlConnection> OpenAndTrackAsync(SqlConnectionScope? scope, string? callerMemberName, string? callerFilePath, int callerLineNumber, StackTrace? stack, SqlConnection? firstConnection, Task? firstOpening, long started, CancellationToken cancellationToken)
    {
        SqlConnection connection;
        try
        {
            connection = await OpenFirstAttemptThenPipelineAsync(firstConnection, firstOpening, started, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (RecordOpenFailure(ex))
        {
            throw;
        }

        OnOpened();
        Tracker.Track(connection, scope, callerMemberName, callerFilePath, callerLineNumber, stack);
        return connection;
    }

    /// <summary>
    /// Opens once outside Polly (the hot path: no pipeline, no closure). Only when that attempt fails, and the failure is not
    /// a caller cancellation or a pool timeout of a full pool (never retried), does the pipeline run, with the first attempt's exception
    /// replayed as its first attempt, so attempt counts, delays, classification, logs (3000-3003) and metrics are those of
    /// running every attempt in Polly. The pipeline is told it runs synchronously: the classification then gathers its
    /// evidence on this thread instead of awaiting it.
    /// </summary>
    private SqlConnection OpenFirstAttemptThenPipeline()
    {
        var started = TimeProvider.GetTimestamp();
        ExceptionDispatchInfo? firstFailure = null;
        if (!_circuitNotClosed)
        {
            try
            {
                return OpenOnce(_connectionString);
            }
            catch (Exception ex) when (!IsLeakPoolTimeout(ex) && !ReferenceEquals(_openPipeline, ResiliencePipeline.Empty))
            {
                firstFailure = ExceptionDispatchInfo.Capture(ex);
            }
        }

        return RunOpenPipeline(new ReplayState(this, firstFailure, holder: null), started);
    }

    /// <summary>The asynchronous <see cref="OpenFirstAttemptThenPipeline"/>, from a first attempt already started (and not
    /// completed successfully) by <see cref="OpenCoreAsync"/>; a caller cancellation is rethrown as is.</summary>
    private async ValueTask<SqlConnection> OpenFirstAttemptThenPipelineAsync(SqlConnection? firstConnection, Task? firstOpening, long started, CancellationToken cancellationToken)
    {
        ExceptionDispatchInfo? firstFailure = null;
        if (firstConnection is not null)
        {
            try
            {
                return await CompleteOpenAsync(firstConnection, firstOpening!, started).ConfigureAwait(false);
            }
            catch (Exception ex) when (!IsLeakPoolTimeout(ex)
                && !ReferenceEquals(_openPipeline, ResiliencePipeline.Empty)
                && !(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
            {
                firstFailure = ExceptionDispatchInfo.Capture(ex);
            }
        }

        return await RunOpenPipelineAsync(new ReplayState(this, firstFailure, holder: null), started, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs the open pipeline (breaker, retry, telemetry) synchronously under the open's budget: the replayed first failure, then
    /// new attempts (a new connection each, or the holder's connection); an open circuit and a spent budget are translated.
    /// </summary>
    private SqlConnection RunOpenPipeline(ReplayState state, long started)
    {
        using var budget = new OpenBudget(this, started, CancellationToken.None);
        state.Budget = budget;
        var context = budget.CreateContext(state, synchronous: true);
        try
        {
            return _openPipeline.Execute(
                static (_, state) =>
                {
                    state.RethrowFirstFailureOnce();
                    return state.Holder is { } holder ? state.DataSource.OpenHolderOnce(holder) : state.DataSource.OpenOnce(state.DataSource._connectionString);
                },
                context,
                state);
        }
        catch (Exception ex) when (budget.Translate(ex, context, state) is { } translated)
        {
            ExceptionDispatchInfo.Throw(translated);
            throw;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>The asynchronous <see cref="RunOpenPipeline"/>; the caller's token ends it at any point.</summary>
    private async ValueTask<SqlConnection> RunOpenPipelineAsync(ReplayState state, long started, CancellationToken cancellationToken)
    {
        using var budget = new OpenBudget(this, started, cancellationToken);
        state.Budget = budget;
        var context = budget.CreateContext(state, synchronous: false);
        try
        {
            return await _openPipeline.ExecuteAsync(
                static (context, state) =>
                {
                    state.RethrowFirstFailureOnce();
                    var dataSource = state.DataSource;
                    var attemptStarted = dataSource.TimeProvider.GetTimestamp();
                    if (state.Holder is { } holder)
                    {
                        return dataSource.OpenHolderOnceAsync(holder, attemptStarted, context.CancellationToken);
                    }

                    var (connection, opening) = dataSource.StartOpen(context.CancellationToken);
                    return dataSource.CompleteOpenAsync(connection, opening, attemptStarted);
                },
                context,
                state).ConfigureAwait(false);
        }
        catch (Exception ex) when (budget.Translate(ex, context, state) is { } translated)
        {
            ExceptionDispatchInfo.Throw(translated);
            throw;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>
    /// One attempt. SqlClient's pool timeout is recognized here, once (<see cref="LeaseTracker.IsPoolTimeout"/>), and thrown as
    /// <see cref="SqlConnectionPoolExhaustedException"/>, which logs it (event 1002) and counts it
    /// (<c>db.client.connection.timeouts</c>); the pipeline does not log or count it again, and retries it only when the pool was not full.
    /// </summary>
    private SqlConnection OpenOnce(string connectionString)
    {
        try
        {
            return s_open(connectionString);
        }
        catch (InvalidOperationException ex) when (Tracker.IsPoolTimeout(ex))
        {
            throw Tracker.CreatePoolExhaustedException(ex);
        }
    }

    /// <summary>
    /// A pool timeout with every pooled connection leased (a leak, never retried): thrown at once, without the pipeline. A pool
    /// timeout of a pool that was not full (queued behind a connection being created) goes through the pipeline, which retries it once.
    /// </summary>
    private static bool IsLeakPoolTimeout(Exception exception) => exception is SqlConnectionPoolExhaustedException { PoolWasFull: true };

    /// <summary>Starts one asynchronous attempt: a new connection and its <c>OpenAsync</c> (a synchronous throw becomes the task's).</summary>
    private (SqlConnection Connection, Task Opening) StartOpen(CancellationToken cancellationToken)
    {
        var connection = new SqlConnection(_connectionString);
        try
        {
            return (connection, connection.OpenAsync(cancellationToken));
        }
        catch (Exception ex)
        {
            return (connection, Task.FromException(ex));
        }
    }

    /// <summary>
    /// Awaits an attempt started by <see cref="StartOpen"/>; disposes its connection if it failed, and turns a pool timeout into
    /// <see cref="SqlConnectionPoolExhaustedException"/> as <see cref="OpenOnce"/> does.
    /// </summary>
    private async ValueTask<SqlConnection> CompleteOpenAsync(SqlConnection connection, Task opening, long started)
    {
        try
        {
            await AwaitAttemptAsync(connection, opening, started).ConfigureAwait(false);
            return connection;
        }
        catch (SqlServerUnavailableException)
        {
            throw; // the attempt was left to SqlClient; its connection is disposed when it ends
        }
        catch (Exception ex)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            if (ex is InvalidOperationException poolTimeout && Tracker.IsPoolTimeout(poolTimeout))
            {
                throw Tracker.CreatePoolExhaustedException(poolTimeout);
            }

            throw;
        }
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

    /// <summary>The state of a pipeline run after a failed first attempt, or of any run while the breaker is not closed.</summary>
    private sealed class ReplayState(SafeSqlDataSource dataSource, ExceptionDispatchInfo? firstFailure, SqlConnection? holder)
    {
        private ExceptionDispatchInfo? _firstFailure = firstFailure;

        public SafeSqlDataSource DataSource { get; } = dataSource;

        /// <summary>Gets the holder's connection that every attempt opens again (EF Core's), or <see langword="null"/> for a new connection per attempt.</summary>
        public SqlConnection? Holder { get; } = holder;

        /// <summary>Gets the failure of the attempt made outside Polly, if one was made.</summary>
        public ExceptionDispatchInfo? FirstFailure { get; } = firstFailure;

        /// <summary>Gets or sets the budget of the run (its timer is armed by the first callback).</summary>
        public OpenBudget? Budget { get; set; }

        /// <summary>
        /// On the pipeline's first attempt, rethrows the failure of the attempt made outside Polly (same instance, original
        /// stack), if one was made; later attempts return and open for real.
        /// </summary>
        public void RethrowFirstFailureOnce()
        {
            Budget?.Arm();
            Interlocked.Exchange(ref _firstFailure, null)?.Throw();
            AttemptsStarted++;
        }

        /// <summary>Gets how many attempts were made: the one outside Polly, if any, and those the pipeline started.</summary>
        public int Attempts => (FirstFailure is null ? 0 : 1) + AttemptsStarted;

        private int AttemptsStarted { get; set; }
    }
}
