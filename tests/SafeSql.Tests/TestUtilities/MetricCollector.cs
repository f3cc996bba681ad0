using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace SafeSql.Tests.TestUtilities;

/// <summary>One measurement: instrument name, value and tags.</summary>
public sealed record CollectedMeasurement(string Instrument, double Value, IReadOnlyDictionary<string, object?> Tags);

/// <summary>
/// Listens to every instrument of one meter (by name) and keeps its measurements.
/// (Microsoft.Extensions.Diagnostics.Testing's MetricCollector does not restore here.)
/// </summary>
public sealed class MetricCollector : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<CollectedMeasurement> _measurements = new();

    public MetricCollector(string meterName, object? meterScope = null)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == meterName && (meterScope is null || ReferenceEquals(instrument.Meter.Scope, meterScope)))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<int>((i, v, t, _) => Record(i, v, t));
        _listener.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
        _listener.SetMeasurementEventCallback<double>((i, v, t, _) => Record(i, v, t));
        _listener.Start();
    }

    public IReadOnlyList<CollectedMeasurement> Measurements => [.. _measurements];

    /// <summary>Asks observable instruments to report now.</summary>
    public void RecordObservableInstruments() => _listener.RecordObservableInstruments();

    public IReadOnlyList<CollectedMeasurement> For(string instrument) => [.. _measurements.Where(m => m.Instrument == instrument)];

    public void Dispose() => _listener.Dispose();

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var dict = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            dict[tag.Key] = tag.Value;
        }

        _measurements.Enqueue(new CollectedMeasurement(instrument.Name, value, dict));
    }
}
