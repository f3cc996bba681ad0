using System.Collections.Concurrent;

namespace SafeSql;

/// <summary>
/// One operation in flight per key, its result shared by every caller that asks while it runs and reused for a short
/// time after it completes: a storm of concurrent failures towards one server makes one DNS lookup or one diagnostic
/// connect, not one each.
/// </summary>
/// <remarks>
/// The operation runs with its own time bound and no caller's cancellation token (it is shared); a caller that gives up
/// stops waiting (<see cref="Task.WaitAsync(CancellationToken)"/>) without canceling it for the others. Callers on a
/// synchronous path never wait for a flight: they reuse a completed result (<see cref="TryGetCompleted"/>) or do the work
/// themselves and <see cref="Store"/> it.
/// </remarks>
/// <typeparam name="TKey">What the operation is about (an endpoint).</typeparam>
/// <typeparam name="TResult">Its result.</typeparam>
internal sealed class SingleFlight<TKey, TResult>
    where TKey : notnull
{
    private const int MaxKeys = 64;

    private readonly ConcurrentDictionary<TKey, Flight> _flights;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _reuseFor;

    /// <param name="timeProvider">The clock of <paramref name="reuseFor"/>.</param>
    /// <param name="reuseFor">How long a completed result is handed out again.</param>
    /// <param name="comparer">The key comparer, or <see langword="null"/> for the default.</param>
    internal SingleFlight(TimeProvider timeProvider, TimeSpan reuseFor, IEqualityComparer<TKey>? comparer = null)
    {
        _timeProvider = timeProvider;
        _reuseFor = reuseFor;
        _flights = new ConcurrentDictionary<TKey, Flight>(comparer);
    }

    /// <summary>Gets how many operations were started (tests assert single-flight with it).</summary>
    internal int Started => Volatile.Read(ref _started);

    private int _started;

    /// <summary>
    /// The result of the flight for <paramref name="key"/>: the one in flight, else a completed one still fresh, else a new one
    /// started with <paramref name="operation"/>.
    /// </summary>
    internal Task<TResult> GetOrStart<TState>(TKey key, TState state, Func<TKey, TState, Task<TResult>> operation)
    {
        while (true)
        {
            var existing = _flights.TryGetValue(key, out var found) ? found : null;
            if (existing is not null && (!existing.Task.IsCompleted || IsFresh(existing)))
            {
                return existing.Task;
            }

            var mine = new Flight();
            if (existing is null ? TryAdd(key, mine) : _flights.TryUpdate(key, mine, existing))
            {
                Interlocked.Increment(ref _started);
                _ = RunAsync(mine, key, state, operation);
                return mine.Task;
            }
        }
    }

    /// <summary>A completed, fresh result for <paramref name="key"/>; never waits for a flight still running.</summary>
    internal bool TryGetCompleted(TKey key, out TResult result)
    {
        if (_flights.TryGetValue(key, out var flight) && flight.Task.IsCompletedSuccessfully && IsFresh(flight))
        {
            result = flight.Value;
            return true;
        }

        result = default!;
        return false;
    }

    /// <summary>Stores a result computed by a synchronous caller, unless a flight is running for the key.</summary>
    internal void Store(TKey key, TResult result)
    {
        var flight = new Flight();
        flight.Complete(result, _timeProvider.GetTimestamp());
        _flights.AddOrUpdate(key, flight, (_, existing) => existing.Task.IsCompleted ? flight : existing);
        TrimIfLarge();
    }

    /// <summary>Runs the operation; its outcome, exception included, reaches the waiters through the flight (nobody awaits this task).</summary>
    private async Task RunAsync<TState>(Flight flight, TKey key, TState state, Func<TKey, TState, Task<TResult>> operation)
    {
        try
        {
            var result = await operation(key, state).ConfigureAwait(false);
            flight.Complete(result, _timeProvider.GetTimestamp());
        }
        catch (Exception ex)
        {
            flight.Fail(ex, _timeProvider.GetTimestamp());
        }
    }

    private bool TryAdd(TKey key, Flight flight)
    {
        TrimIfLarge();
        return _flights.TryAdd(key, flight);
    }

    private void TrimIfLarge()
    {
        if (_flights.Count < MaxKeys)
        {
            return;
        }

        foreach (var (key, flight) in _flights)
        {
            if (flight.Task.IsCompleted)
            {
                _flights.TryRemove(new KeyValuePair<TKey, Flight>(key, flight));
            }
        }
    }

    private bool IsFresh(Flight flight) => _timeProvider.GetElapsedTime(flight.CompletedTimestamp) < _reuseFor;

    private sealed class Flight
    {
        private readonly TaskCompletionSource<TResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

        internal Task<TResult> Task => _completion.Task;

        internal long CompletedTimestamp { get; private set; }

        /// <summary>The result once completed successfully (read instead of the task's, which is only for awaiting).</summary>
        internal TResult Value { get; private set; } = default!;

        internal void Complete(TResult result, long timestamp)
        {
            CompletedTimestamp = timestamp;
            Value = result;
            _completion.TrySetResult(result);
        }

        internal void Fail(Exception exception, long timestamp)
        {
            CompletedTimestamp = timestamp;
            _completion.TrySetException(exception);
        }
    }
}
