using Microsoft.Extensions.Options;

namespace SafeSql.AspNetCore;

/// <summary>
/// Chains the diagnostics' leak ring into every SafeSql instance's <see cref="SqlConnectionLeakOptions.OnLeakDetected"/>,
/// after the application's own configuration: the application's callback still runs, after the report is kept.
/// </summary>
internal sealed class LeakRecordingPostConfigure : IPostConfigureOptions<SafeSqlOptions>
{
    private readonly SafeSqlDiagnosticsCollector _collector;

    public LeakRecordingPostConfigure(SafeSqlDiagnosticsCollector collector) => _collector = collector;

    public void PostConfigure(string? name, SafeSqlOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var poolName = name ?? Options.DefaultName;
        var leaks = options.Leaks ??= new SqlConnectionLeakOptions();
        var application = leaks.OnLeakDetected;
        leaks.OnLeakDetected = report =>
        {
            _collector.RecordLeak(poolName, report);
            application?.Invoke(report);
        };
    }
}
