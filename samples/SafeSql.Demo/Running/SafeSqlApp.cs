using System.Diagnostics.Metrics;

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

using SafeSql.Diagnostics;

namespace SafeSql.Demo.Running;

/// <summary>
/// The application under test on the SafeSql side: a generic host with <c>AddSafeSql</c>, as a real service would have it.
/// A refused connection string fails <see cref="StartAsync"/> with <c>OptionsValidationException</c>, as it would fail the
/// service's startup. Leak reports and SafeSql's classified failures (its "SafeSql" meter) go to the run's recorder.
/// </summary>
internal sealed class SafeSqlApp : IAsyncDisposable
{
    private const string FailureKindTag = "safesql.failure.kind";

    private readonly IHost _host;
    private readonly MeterListener _meterListener;

    private SafeSqlApp(IHost host, MeterListener meterListener)
    {
        _host = host;
        _meterListener = meterListener;
    }

    /// <summary>Gets the application's services (create a DI scope per request or unit of work).</summary>
    public IServiceProvider Services => _host.Services;

    /// <summary>Builds and starts the host. Throws <c>OptionsValidationException</c> when SafeSql refuses the connection string.</summary>
    public static async Task<SafeSqlApp> StartAsync(string connectionString, RunRecorder recorder, Action<SafeSqlOptions>? configure = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSafeSql(options =>
        {
            options.ConnectionString = connectionString;
            options.Leaks.OnLeakDetected = recorder.LeakReported;
            configure?.Invoke(options);
        });

        var host = builder.Build();
        var meterListener = ListenToFailures(host.Services.GetService<IMeterFactory>(), recorder);
        try
        {
            await host.StartAsync();
            return new SafeSqlApp(host, meterListener);
        }
        catch
        {
            meterListener.Dispose();
            host.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        _meterListener.Dispose();
    }

    /// <summary>Counts every failure SafeSql's open pipeline classified, from the "SafeSql" meter of this host only.</summary>
    private static MeterListener ListenToFailures(IMeterFactory? meterFactory, RunRecorder recorder)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Name == SafeSqlMetricNames.Failures && (meterFactory is null || ReferenceEquals(instrument.Meter.Scope, meterFactory)))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == FailureKindTag && Enum.TryParse<SqlFailureKind>(((string?)tag.Value)?.Replace("_", ""), ignoreCase: true, out var kind))
                {
                    recorder.Saw(kind, value);
                }
            }
        });
        listener.Start();
        return listener;
    }
}
