using System.Diagnostics.Metrics;

using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

using SafeSql.Diagnostics;

namespace SafeSql;

/// <summary>
/// Builds a <see cref="SafeSqlDataSource"/> without a host: options, logging, metrics and clock, then <see cref="Build"/>,
/// which runs the same validation as <c>AddSafeSql</c> at host startup (data annotations and the connection-string policy).
/// </summary>
/// <example>
/// <code>
/// var builder = new SafeSqlDataSourceBuilder(connectionString).UseLoggerFactory(loggerFactory);
/// builder.Options.Leaks.StackCapture = SqlConnectionStackCaptureMode.Full;
/// await using var dataSource = builder.Build();
/// await using var connection = await dataSource.OpenConnectionAsync();
/// </code>
/// </example>
public sealed class SafeSqlDataSourceBuilder
{
    private ILoggerFactory? _loggerFactory;
    private IMeterFactory? _meterFactory;
    private TimeProvider? _timeProvider;

    /// <summary>Starts a builder for <paramref name="connectionString"/>.</summary>
    /// <param name="connectionString">The SQL Server connection string (<see cref="SafeSqlOptions.ConnectionString"/>).</param>
    /// <exception cref="ArgumentNullException"><paramref name="connectionString"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="connectionString"/> is empty or white space.</exception>
    public SafeSqlDataSourceBuilder(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        Options = new SafeSqlOptions { ConnectionString = connectionString };
    }

    /// <summary>Gets the options of the data source: connection-string policy, leak detection, open retry.</summary>
    /// <value>New <see cref="SafeSqlOptions"/> holding the connection string given to the constructor.</value>
    public SafeSqlOptions Options { get; }

    /// <summary>Gets or sets the name of the data source in logs, metrics (<c>db.client.connection.pool.name</c>) and leak reports.</summary>
    /// <value>The default value is the empty string, which texts show as "(default)".</value>
    public string Name { get; set; } = string.Empty;

    /// <summary>Sets the logger factory for the data source's logs (event ids in <see cref="SafeSqlEventId"/>).</summary>
    /// <param name="loggerFactory">The logger factory; <see langword="null"/> logs nothing (the default).</param>
    /// <returns>The same builder instance so that multiple calls can be chained.</returns>
    public SafeSqlDataSourceBuilder UseLoggerFactory(ILoggerFactory? loggerFactory)
    {
        _loggerFactory = loggerFactory;
        return this;
    }

    /// <summary>Sets the meter factory that creates the "SafeSql" meter.</summary>
    /// <param name="meterFactory">The meter factory; <see langword="null"/> creates a meter of the data source's own (the
    /// default), disposed with it.</param>
    /// <returns>The same builder instance so that multiple calls can be chained.</returns>
    public SafeSqlDataSourceBuilder UseMeterFactory(IMeterFactory? meterFactory)
    {
        _meterFactory = meterFactory;
        return this;
    }

    /// <summary>Sets the clock of lease ages, the held-too-long watchdog and retry delays.</summary>
    /// <param name="timeProvider">The clock; <see langword="null"/> for <see cref="TimeProvider.System"/> (the default).</param>
    /// <returns>The same builder instance so that multiple calls can be chained.</returns>
    public SafeSqlDataSourceBuilder UseTimeProvider(TimeProvider? timeProvider)
    {
        _timeProvider = timeProvider;
        return this;
    }

    /// <summary>Validates the options and builds the data source.</summary>
    /// <returns>The data source. Keep one per database for the life of the application, and dispose it at the end.</returns>
    /// <exception cref="ArgumentNullException"><see cref="Name"/> is <see langword="null"/>.</exception>
    /// <exception cref="OptionsValidationException">An option is out of range, or the connection-string policy refused the
    /// string: the message names each rule broken (SAFESQL001...), the current value, the reason and the fix, as at host
    /// startup. Warnings are logged (event 4001) and do not stop the build.</exception>
    public SafeSqlDataSource Build()
    {
        ArgumentNullException.ThrowIfNull(Name);
        var failures = new List<string>();
        foreach (var result in new[]
        {
            new SafeSqlOptionsValidator().Validate(Name, Options),
            new SafeSqlOptionsCustomValidator(_loggerFactory).Validate(Name, Options),
        })
        {
            if (result.Failed)
            {
                failures.AddRange(result.Failures);
            }
        }

        if (failures.Count > 0)
        {
            throw new OptionsValidationException(Name, typeof(SafeSqlOptions), failures);
        }

        return new SafeSqlDataSource(Name, Options, _loggerFactory, new SafeSqlMetrics(_meterFactory), _timeProvider, ownsMetrics: true);
    }
}
