using Microsoft.Extensions.Configuration;

using SafeSql;
using SafeSql.ConnectionStrings;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Further configuration of a SafeSql instance registered by <c>AddSafeSql</c>. Partial by concern, so each feature adds its
/// own file (for example the open retry).
/// </summary>
public static partial class SafeSqlBuilderExtensions
{
    /// <summary>Configures the options of the instance.</summary>
    /// <param name="builder">The builder returned by <c>AddSafeSql</c>.</param>
    /// <param name="configure">Changes the options; runs after the configuration given to <c>AddSafeSql</c>.</param>
    /// <returns>The value of <paramref name="builder"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configure"/> is
    /// <see langword="null"/>.</exception>
    public static ISafeSqlBuilder Configure(this ISafeSqlBuilder builder, Action<SafeSqlOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<SafeSqlOptions>(builder.Name).Configure(configure);
        return builder;
    }

    /// <summary>Binds the options of the instance to a configuration section.</summary>
    /// <param name="builder">The builder returned by <c>AddSafeSql</c>.</param>
    /// <param name="configuration">The section holding <see cref="SafeSqlOptions"/> (ConnectionString, ConnectionStringPolicy,
    /// Leaks, OpenRetry); values present in it override what was set before.</param>
    /// <returns>The value of <paramref name="builder"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configuration"/> is
    /// <see langword="null"/>.</exception>
    public static ISafeSqlBuilder Configure(this ISafeSqlBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        builder.Services.AddOptions<SafeSqlOptions>(builder.Name).Bind(configuration);
        return builder;
    }

    /// <summary>Configures the connection-string policy of the instance (its thresholds and opt-ins).</summary>
    /// <param name="builder">The builder returned by <c>AddSafeSql</c>.</param>
    /// <param name="configure">Changes <see cref="SafeSqlOptions.ConnectionStringPolicy"/>, for example
    /// <c>policy =&gt; policy.AllowConnectionLifetime = true</c>.</param>
    /// <returns>The value of <paramref name="builder"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configure"/> is
    /// <see langword="null"/>.</exception>
    public static ISafeSqlBuilder ConfigureConnectionStringPolicy(this ISafeSqlBuilder builder, Action<SqlConnectionStringPolicyOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<SafeSqlOptions>(builder.Name).Configure(options => configure(options.ConnectionStringPolicy));
        return builder;
    }
}
