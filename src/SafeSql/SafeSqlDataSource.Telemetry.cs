using System.Diagnostics;

using Microsoft.Data.SqlClient;

using SafeSql.Diagnostics;

namespace SafeSql;

/// <summary>
/// Telemetry of the open path: every open through the data source (its own, its scopes', EF Core's through
/// <c>UseSafeSql</c>) is counted while it waits (<c>db.client.connection.pending_requests</c>), timed
/// (<c>db.client.connection.wait_time</c>; <c>.create_time</c> when it made a new physical connection) and traced (one
/// "SafeSql" span covering its retries, an event per failed attempt). Nothing is counted, timed or created while nothing
/// listens, except the note of the physical connection each open got (a lock-free lookup), which keeps
/// <c>create_time</c> true for a listener that starts later.
/// </summary>
public sealed partial class SafeSqlDataSource
{
    /// <summary>The open in progress on this flow, while something listens (read by the retry observer for the span's events
    /// and the start of the attempt that succeeds).</summary>
    private static readonly AsyncLocal<OpenObservation?> s_currentOpen = new();

    private PoolTelemetryAttributes? _telemetry;
    private KeyValuePair<string, object?>[]? _spanTags;
    private string? _spanName;

    /// <summary>Gets the OpenTelemetry attributes of this instance: its name (or the endpoint fallback for the default
    /// instance), server and database; read from the connection string without its password.</summary>
    internal PoolTelemetryAttributes Telemetry =>
        _telemetry ??= Name == Tracker.PoolName
            ? Tracker.Telemetry
            : PoolTelemetryAttributes.Create(Name, new SqlConnectionStringBuilder(_connectionStringWithoutPassword));

    /// <summary>Opens through the pipeline, then starts the lease (owned by <paramref name="scope"/> if given), observed.</summary>
    internal SqlConnection OpenCore(SqlConnectionScope? scope, string? callerMemberName, string? callerFilePath, int callerLineNumber)
    {
        var observation = BeginOpen();
        if (observation is null)
        {
            var opened = OpenAndStartLease(scope, callerMemberName, callerFilePath, callerLineNumber);
            NotePhysicalConnection(opened);
            return opened;
        }

        s_currentOpen.Value = observation;
        try
        {
            var connection = OpenAndStartLease(scope, callerMemberName, callerFilePath, callerLineNumber);
            observation.Opened(connection);
            return connection;
        }
        catch (Exception ex)
        {
            observation.Failed(ex);
            throw;
        }
        finally
        {
            observation.LeaveFlow();
        }
    }

    /// <summary>Opens through the pipeline asynchronously, then starts the lease (owned by <paramref name="scope"/> if given),
    /// observed; an open that completes at once (a pooled connection) stays free of state machines.</summary>
    internal ValueTask<SqlConnection> OpenCoreAsync(SqlConnectionScope? scope, string? callerMemberName, string? callerFilePath, int callerLineNumber, CancellationToken cancellationToken)
    {
        var observation = BeginOpen();
        if (observation is null)
        {
            var pending = OpenAndStartLeaseAsync(scope, callerMemberName, callerFilePath, callerLineNumber, cancellationToken);
            if (pending.IsCompletedSuccessfully)
            {
                var opened = pending.Result;
                NotePhysicalConnection(opened);
                return new ValueTask<SqlConnection>(opened);
            }

            return NoteWhenOpenedAsync(pending);
        }

        // The open's own flow (its awaits) keeps the span and the observation as current; the caller's does not: once this
        // returns, the caller's next commands are siblings of the open span, not its children.
        ValueTask<SqlConnection> opening;
        s_currentOpen.Value = observation;
        try
        {
            opening = OpenAndStartLeaseAsync(scope, callerMemberName, callerFilePath, callerLineNumber, cancellationToken);
        }
        catch (Exception ex)
        {
            observation.Failed(ex);
            throw;
        }
        finally
        {
            observation.LeaveFlow();
        }

        if (opening.IsCompletedSuccessfully)
        {
            var connection = opening.Result;
            observation.Opened(connection);
            return new ValueTask<SqlConnection>(connection);
        }

        return ObserveAsync(opening, observation);
    }

    /// <summary>Opens a holder's connection (EF Core's) as the data source opens its own (<see cref="OpenHolderConnectionCore"/>), observed.</summary>
    internal void OpenHolderConnection(SqlConnection connection)
    {
        var observation = BeginOpen();
        if (observation is null)
        {
            OpenHolderConnectionCore(connection);
            NotePhysicalConnection(connection);
            return;
        }

        s_currentOpen.Value = observation;
        try
        {
            OpenHolderConnectionCore(connection);
            observation.Opened(connection);
        }
        catch (Exception ex)
        {
            observation.Failed(ex);
            throw;
        }
        finally
        {
            observation.LeaveFlow();
        }
    }

    /// <summary>The asynchronous <see cref="OpenHolderConnection"/>.</summary>
    internal Task OpenHolderConnectionAsync(SqlConnection connection, CancellationToken cancellationToken)
    {
        var observation = BeginOpen();
        if (observation is null)
        {
            var pending = OpenHolderConnectionCoreAsync(connection, cancellationToken);
            if (pending.IsCompletedSuccessfully)
            {
                NotePhysicalConnection(connection);
                return pending;
            }

            return NoteWhenOpenedAsync(pending, connection);
        }

        Task opening;
        s_currentOpen.Value = observation;
        try
        {
            opening = OpenHolderConnectionCoreAsync(connection, cancellationToken);
        }
        catch (Exception ex)
        {
            observation.Failed(ex);
            throw;
        }
        finally
        {
            observation.LeaveFlow();
        }

        return ObserveAsync(opening, connection, observation);
    }

    /// <summary>Told by the open retry observer about a failed attempt of the open on this flow: the span's event when it is
    /// not retried (a retried one gets its event, with the delay, from <see cref="OnOpenRetryingTelemetry"/>).</summary>
    internal void OnOpenAttemptFailedTelemetry(SqlFailure failure, int attemptNumber, bool willRetry)
    {
        if (s_currentOpen.Value is { } observation && ReferenceEquals(observation.DataSource, this))
        {
            observation.AttemptFailed(failure, attemptNumber, willRetry ? null : TimeSpan.Zero);
        }
    }

    /// <summary>Told by the open retry observer that the open on this flow retries after <paramref name="delay"/>.</summary>
    internal void OnOpenRetryingTelemetry(SqlFailure failure, int attemptNumber, TimeSpan delay)
    {
        if (s_currentOpen.Value is { } observation && ReferenceEquals(observation.DataSource, this))
        {
            observation.AttemptFailed(failure, attemptNumber, delay);
        }
    }

    /// <summary>The span's <c>error.type</c> for a failed open: the failure kind's tag, else the exception's type name.</summary>
    private static string ErrorTypeOf(Exception exception, SqlFailure? lastFailure) => exception switch
    {
        SqlServerUnavailableException unavailable => KindTag(unavailable.Kind),
        SqlConnectionPoolExhaustedException => KindTag(SqlFailureKind.PoolTimeout),
        OperationCanceledException => exception.GetType().FullName!,
        _ when lastFailure is not null => KindTag(lastFailure.Kind),
        _ => exception.GetType().FullName!,
    };

    private static string KindTag(SqlFailureKind kind) => kind == SqlFailureKind.CircuitOpen ? "circuit_open" : FailureKindTagValue.Of(kind);

    private static async ValueTask<SqlConnection> ObserveAsync(ValueTask<SqlConnection> opening, OpenObservation observation)
    {
        SqlConnection connection;
        try
        {
            connection = await opening.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            observation.Failed(ex);
            throw;
        }

        observation.Opened(connection);
        return connection;
    }

    private static async Task ObserveAsync(Task opening, SqlConnection connection, OpenObservation observation)
    {
        try
        {
            await opening.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            observation.Failed(ex);
            throw;
        }

        observation.Opened(connection);
    }

    private async ValueTask<SqlConnection> NoteWhenOpenedAsync(ValueTask<SqlConnection> opening)
    {
        var connection = await opening.ConfigureAwait(false);
        NotePhysicalConnection(connection);
        return connection;
    }

    private async Task NoteWhenOpenedAsync(Task opening, SqlConnection connection)
    {
        await opening.ConfigureAwait(false);
        NotePhysicalConnection(connection);
    }

    /// <summary>Notes the physical connection an open got; returns whether the pool had not handed it out before.</summary>
    private bool NotePhysicalConnection(SqlConnection connection) =>
        !Tracker.Pooling || Tracker.PhysicalConnections.Add(connection.ClientConnectionId);

    /// <summary>Starts observing an open, or returns <see langword="null"/> (nothing allocated) when nothing listens.</summary>
    private OpenObservation? BeginOpen()
    {
        var metrics = Metrics;
        var countPending = metrics.IsPendingRequestsEnabled;
        var timed = metrics.IsOpenTimingEnabled;
        var source = SafeSqlActivitySource.Source;
        if (!countPending && !timed && !source.HasListeners())
        {
            return null;
        }

        var parent = Activity.Current;
        var activity = source.HasListeners() ? StartOpenActivity(source) : null;
        if (!countPending && !timed && activity is null)
        {
            return null;
        }

        if (countPending)
        {
            Tracker.OnOpenStarted();
        }

        return new OpenObservation(this, countPending, timed ? Stopwatch.GetTimestamp() : 0, activity, parent);
    }

    private Activity? StartOpenActivity(ActivitySource source)
    {
        // db.system.name and the endpoint are given at creation, so samplers see them (as the SQL Server conventions ask).
        var tags = _spanTags ??= CreateSpanTags();
        var activity = source.StartActivity(SafeSqlActivitySource.OpenOperationName, ActivityKind.Client, parentContext: default, tags);
        if (activity is not null)
        {
            activity.DisplayName = _spanName ??= "OPEN " + (Telemetry.Namespace ?? Telemetry.ServerAddress ?? Telemetry.PoolName);
        }

        return activity;
    }

    private KeyValuePair<string, object?>[] CreateSpanTags()
    {
        var telemetry = Telemetry;
        var tags = new List<KeyValuePair<string, object?>>(5)
        {
            new(SafeSqlMetrics.SystemNameTag, SafeSqlMetrics.SystemNameValue),
            new(SafeSqlMetrics.PoolNameTag, telemetry.PoolName),
        };
        if (telemetry.ServerAddress is { } address)
        {
            tags.Add(new(SafeSqlActivitySource.ServerAddressTag, address));
        }

        if (telemetry.ServerPort is { } port)
        {
            tags.Add(new(SafeSqlActivitySource.ServerPortTag, port));
        }

        if (telemetry.Namespace is { } dbNamespace)
        {
            tags.Add(new(SafeSqlActivitySource.NamespaceTag, dbNamespace));
        }

        return [.. tags];
    }

    /// <summary>One open while something listens: whether it is counted as pending, when it (and its last attempt) started,
    /// its span, and the last failure the retry observer classified.</summary>
    private sealed class OpenObservation
    {
        private readonly bool _countedPending;
        private readonly long _started;
        private readonly Activity? _activity;
        private readonly Activity? _parent;
        private long _attemptStarted;
        private SqlFailure? _lastFailure;
        private int _completed;

        public OpenObservation(SafeSqlDataSource dataSource, bool countedPending, long started, Activity? activity, Activity? parent)
        {
            DataSource = dataSource;
            _countedPending = countedPending;
            _started = started;
            _attemptStarted = started;
            _activity = activity;
            _parent = parent;
        }

        public SafeSqlDataSource DataSource { get; }

        /// <summary>Restores the caller's flow: no current open, and the span that was current before this one.</summary>
        public void LeaveFlow()
        {
            s_currentOpen.Value = null;
            if (_activity is not null && ReferenceEquals(Activity.Current, _activity))
            {
                Activity.Current = _parent;
            }
        }

        /// <summary>A failed attempt: an event on the span; <paramref name="delay"/> is the wait before the retry, or
        /// <see cref="TimeSpan.Zero"/> when it is not retried, <see langword="null"/> when the retry is announced later.</summary>
        public void AttemptFailed(SqlFailure failure, int attemptNumber, TimeSpan? delay)
        {
            _lastFailure = failure;
            if (delay is not { } wait)
            {
                return;
            }

            if (wait > TimeSpan.Zero && _started != 0)
            {
                // The next attempt starts when the delay ends: the time of a connection created by it counts from there.
                _attemptStarted = Stopwatch.GetTimestamp() + (long)(wait.TotalSeconds * Stopwatch.Frequency);
            }

            if (_activity is null)
            {
                return;
            }

            var tags = new ActivityTagsCollection
            {
                { SafeSqlActivitySource.AttemptTag, attemptNumber + 1 },
                { SafeSqlMetrics.FailureKindTag, KindTag(failure.Kind) },
                { SafeSqlMetrics.ErrorTypeTag, FailureKindTagValue.ErrorTypeOf(failure) },
            };
            if (failure.SqlErrorNumber is { } number)
            {
                tags.Add(SafeSqlActivitySource.ResponseStatusCodeTag, number.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            if (wait > TimeSpan.Zero)
            {
                tags.Add(SafeSqlActivitySource.RetryDelayTag, wait.TotalSeconds);
            }

            _activity.AddEvent(new ActivityEvent(SafeSqlActivitySource.AttemptFailedEventName, tags: tags));
        }

        public void Opened(SqlConnection connection)
        {
            if (Interlocked.Exchange(ref _completed, 1) != 0)
            {
                return;
            }

            var tracker = DataSource.Tracker;
            if (_countedPending)
            {
                tracker.OnOpenCompleted();
            }

            var isNew = DataSource.NotePhysicalConnection(connection);
            if (_started != 0)
            {
                var now = Stopwatch.GetTimestamp();
                var poolName = tracker.Telemetry.PoolName;
                DataSource.Metrics.RecordWaitTime(poolName, Stopwatch.GetElapsedTime(_started, now).TotalSeconds);
                if (isNew)
                {
                    var from = Math.Min(Volatile.Read(ref _attemptStarted), now);
                    DataSource.Metrics.RecordCreateTime(poolName, Stopwatch.GetElapsedTime(from, now).TotalSeconds);
                }
            }

            if (_activity is not null)
            {
                _activity.SetTag(SafeSqlActivitySource.NewConnectionTag, isNew);
                _activity.Stop();
            }
        }

        public void Failed(Exception exception)
        {
            if (Interlocked.Exchange(ref _completed, 1) != 0)
            {
                return;
            }

            if (_countedPending)
            {
                DataSource.Tracker.OnOpenCompleted();
            }

            if (_activity is not null)
            {
                var errorType = ErrorTypeOf(exception, _lastFailure);
                _activity.SetTag(SafeSqlMetrics.ErrorTypeTag, errorType);
                _activity.SetStatus(ActivityStatusCode.Error, errorType);
                _activity.Stop();
            }
        }
    }
}
