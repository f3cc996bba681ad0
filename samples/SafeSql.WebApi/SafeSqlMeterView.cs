using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;

namespace SafeSql.WebApi;

/// <summary>
/// The "SafeSql" meter of this application, readable at <c>GET /metrics</c>: counters summed, the observable instruments
/// (connections leased, Max Pool Size) read on demand. A production service would export the same meter with OpenTelemetry
/// (<c>.AddMeter("SafeSql")</c>) or watch it with <c>dotnet-counters monitor --counters SafeSql</c>.
/// </summary>
internal sealed class SafeSqlMeterView : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, double> _values = new();

    public SafeSqlMeterView(IMeterFactory meterFactory)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            // This application's meter only (tests run several applications in one process).
            if (instrument.Meter.Name == "SafeSql" && ReferenceEquals(instrument.Meter.Scope, meterFactory))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
    }

    /// <summary>Gets every series, e.g. <c>db.client.connection.safesql.leaks{db.client.connection.pool.name=,safesql.leak.kind=not_disposed_before_scope_end}</c>.</summary>
    public IReadOnlyDictionary<string, double> Read()
    {
        _listener.RecordObservableInstruments();
        return new SortedDictionary<string, double>(_values, StringComparer.Ordinal);
    }

    public void Dispose() => _listener.Dispose();

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var key = instrument.Name + "{" + string.Join(",", tags.ToArray().Select(static t => $"{t.Key}={Convert.ToString(t.Value, CultureInfo.InvariantCulture)}")) + "}";
        switch (instrument)
        {
            case ObservableInstrument<long> or ObservableInstrument<double>:
                _values[key] = value; // a reading
                break;
            case Histogram<double>:
                _values.AddOrUpdate(key + ".count", 1, static (_, count) => count + 1);
                _values.AddOrUpdate(key + ".sum", value, (_, sum) => sum + value);
                break;
            default:
                _values.AddOrUpdate(key, value, (_, total) => total + value); // a counter
                break;
        }
    }
}
