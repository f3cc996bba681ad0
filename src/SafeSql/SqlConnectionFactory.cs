using System.Runtime.CompilerServices;

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
/// The root factory of one named SafeSql instance (a singleton). Skeleton: the leases issue owns this file and adds
/// lease tracking; the classification issue owns <c>SqlConnectionFactory.Resilience.cs</c> (the open pipeline).
/// </summary>
internal sealed partial class SqlConnectionFactory : ISqlConnectionFactory
{
    private readonly string _connectionString;
    private readonly ResiliencePipeline _openPipeline;

    public SqlConnectionFactory(string name, SafeSqlOptions options, ILoggerFactory? loggerFactory = null, SafeSqlMetrics? metrics = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(options);
        Name = name;
        Options = options;
        LoggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        Metrics = metrics ?? new SafeSqlMetrics(null);
        TimeProvider = timeProvider ?? TimeProvider.System;
        _connectionString = SqlConnectionStringNormalizer.Normalize(options);
        _openPipeline = CreateOpenPipeline();
    }

    public string Name { get; }

    internal SafeSqlOptions Options { get; }

    internal ILoggerFactory LoggerFactory { get; }

    internal SafeSqlMetrics Metrics { get; }

    internal TimeProvider TimeProvider { get; }

    /// <summary>Creates the root factory of the named instance from DI (options by name, logging, metrics, time).</summary>
    internal static SqlConnectionFactory Create(IServiceProvider services, string name)
    {
        var options = services.GetRequiredService<IOptionsMonitor<SafeSqlOptions>>().Get(name);
        return new SqlConnectionFactory(
            name,
            options,
            services.GetService<ILoggerFactory>(),
            services.GetService<SafeSqlMetrics>(),
            services.GetService<TimeProvider>());
    }

    public SqlConnection Open(
        [CallerMemberName] string callerMemberName = "",
        [CallerFilePath] string callerFilePath = "",
        [CallerLineNumber] int callerLineNumber = 0)
    {
        return _openPipeline.Execute(static cs =>
        {
            var connection = new SqlConnection(cs);
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
        }, _connectionString);
    }

    public ValueTask<SqlConnection> OpenAsync(
        CancellationToken cancellationToken = default,
        [CallerMemberName] string callerMemberName = "",
        [CallerFilePath] string callerFilePath = "",
        [CallerLineNumber] int callerLineNumber = 0)
    {
        return _openPipeline.ExecuteAsync(static async (cs, ct) =>
        {
            var connection = new SqlConnection(cs);
            try
            {
                await connection.OpenAsync(ct).ConfigureAwait(false);
                return connection;
            }
            catch
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }, _connectionString, cancellationToken);
    }

    public ISqlConnectionScope CreateScope() => throw new NotSupportedException("Scopes arrive with the leases issue.");
}
