using System.Diagnostics.Metrics;

namespace SafeSql.Diagnostics;

/// <summary>
/// The instruments of the "SafeSql" meter. Skeleton: the leases issue owns this file (lease instruments); the
/// classification issue adds <c>SafeSqlMetrics.Failures.cs</c> (failures by kind).
/// </summary>
internal sealed partial class SafeSqlMetrics : IDisposable
{
    /// <summary>The meter name: "SafeSql".</summary>
    public const string MeterName = "SafeSql";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;

    public SafeSqlMetrics(IMeterFactory? meterFactory)
    {
        if (meterFactory is null)
        {
            _meter = new Meter(MeterName);
            _ownsMeter = true;
        }
        else
        {
            _meter = meterFactory.Create(MeterName);
        }
    }

    internal Meter Meter => _meter;

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
