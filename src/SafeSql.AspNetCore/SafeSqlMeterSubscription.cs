using System.Diagnostics.Metrics;

using SafeSql.Diagnostics;

namespace SafeSql.AspNetCore;

/// <summary>
/// Listens to the application's "SafeSql" meter for the two figures the pool snapshot does not carry: failed open attempts
/// by kind (<c>db.client.connection.safesql.failures</c>) and opens waiting now (<c>db.client.connection.pending_requests</c>,
/// when the core publishes it).
/// </summary>
/// <remarks>
/// Only those instruments are enabled: the failure counter records on the failure path only, and the lease instruments
/// (<c>use_time</c>, <c>count</c>) stay off, so listening adds nothing to a successful open or close. Meters are matched by
/// scope, the application's <see cref="IMeterFactory"/>, so two hosts in one process do not see each other's pools.
/// </remarks>
internal sealed class SafeSqlMeterSubscription : IDisposable
{
    /// <summary>The core's meter name.</summary>
    internal const string MeterName = SafeSqlTelemetry.MeterName;

    /// <summary>The core's counter of failed open attempts, tagged with <see cref="FailureKindTag"/>.</summary>
    internal const string FailuresInstrumentName = SafeSqlMetricNames.Failures;

    /// <summary>OpenTelemetry's instrument of opens waiting for a connection.</summary>
    internal const string PendingRequestsInstrumentName = SafeSqlMetricNames.ConnectionPendingRequests;

    /// <summary>OpenTelemetry's attribute naming the pool: the data source's MetricPoolName.</summary>
    internal const string PoolNameTag = "db.client.connection.pool.name";

    /// <summary>The core's attribute of the failure counter: the kind in snake case.</summary>
    internal const string FailureKindTag = "safesql.failure.kind";

    private readonly object? _scope;
    private readonly Action<string, string> _onFailure;
    private readonly MeterListener _listener = new();
    private readonly Lock _pendingGate = new();
    private readonly Dictionary<string, long> _pending = new(StringComparer.Ordinal);
    private volatile Instrument? _pendingInstrument;

    /// <param name="scope">The meters' scope: the application's <see cref="IMeterFactory"/>, or <see langword="null"/> when it has none (the core then creates its meter unscoped).</param>
    /// <param name="onFailure">Called with the pool name and the failure kind for each failed attempt.</param>
    internal SafeSqlMeterSubscription(object? scope, Action<string, string> onFailure)
    {
        _scope = scope;
        _onFailure = onFailure;
        _listener.InstrumentPublished = OnInstrumentPublished;
        _listener.SetMeasurementEventCallback<long>(OnMeasurement);
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, state) => OnMeasurement(instrument, value, tags, state));
        _listener.Start();
    }

    /// <summary>Reads the opens waiting now, by pool; <see langword="null"/> when the core publishes no such instrument.</summary>
    internal IReadOnlyDictionary<string, long>? ReadPendingRequests()
    {
        var instrument = _pendingInstrument;
        if (instrument is null)
        {
            return null;
        }

        lock (_pendingGate)
        {
            if (instrument.IsObservable)
            {
                _pending.Clear();
                _listener.RecordObservableInstruments();
            }

            return new Dictionary<string, long>(_pending, StringComparer.Ordinal);
        }
    }

    public void Dispose() => _listener.Dispose();

    private void OnInstrumentPublished(Instrument instrument, MeterListener listener)
    {
        if (instrument.Meter.Name != MeterName || !ReferenceEquals(instrument.Meter.Scope, _scope))
        {
            return;
        }

        switch (instrument.Name)
        {
            case FailuresInstrumentName:
                listener.EnableMeasurementEvents(instrument);
                break;
            case PendingRequestsInstrumentName:
                _pendingInstrument = instrument;
                listener.EnableMeasurementEvents(instrument);
                break;
        }
    }

    private void OnMeasurement(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        string? pool = null;
        string? kind = null;
        foreach (var tag in tags)
        {
            switch (tag.Key)
            {
                case PoolNameTag:
                    pool = tag.Value as string;
                    break;
                case FailureKindTag:
                    kind = tag.Value as string;
                    break;
            }
        }

        pool ??= string.Empty;
        if (instrument.Name == FailuresInstrumentName)
        {
            _onFailure(pool, kind ?? "unknown");
            return;
        }

        lock (_pendingGate)
        {
            // An observable instrument reports the current value; a plain up-down counter reports +1/-1 as opens start and end.
            _pending[pool] = instrument.IsObservable ? _pending.GetValueOrDefault(pool) + value : Math.Max(0, _pending.GetValueOrDefault(pool) + value);
        }
    }
}
