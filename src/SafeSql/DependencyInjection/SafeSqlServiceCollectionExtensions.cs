using System.Data.Common;
using System.Diagnostics.Metrics;

using Microsoft.Extensions.Configuration;

using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

using SafeSql;
using SafeSql.Diagnostics;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers SafeSql: a validated, normalized connection string per database, its <see cref="SafeSqlDataSource"/> and the
/// <see cref="ISqlConnectionFactory"/> that opens real, pooled, tracked <c>SqlConnection</c>s from it in request code.
/// </summary>
/// <remarks>
/// <para>
/// Each call registers one SafeSql instance, identified by its name (the options name). Per instance, keyed by the name
/// (the default instance is also registered without a key): <see cref="SafeSqlDataSource"/> and <see cref="DbDataSource"/>,
/// the same singleton, for singletons, background services and libraries (create a scope per unit of work with
/// <see cref="SafeSqlDataSource.CreateScope"/>); and a scoped <see cref="ISqlConnectionFactory"/> for request code, a scope of
/// the data source: when the DI scope ends (for example an ASP.NET Core request), connections still open are returned to the
/// pool and reported as leaks. Inject them with <c>[FromKeyedServices("orders")]</c> for a named instance.
/// </para>
/// <para>
/// <see cref="ISqlConnectionFactory"/> resolved from the root provider (held by a singleton, or with scope validation off) is
/// not a scope: SafeSql logs event 1004 (<see cref="SafeSql.Diagnostics.SafeSqlEventId.ScopedFactoryResolvedFromRoot"/>)
/// and hands out an unscoped factory, so its connections stay covered by the finalizer sentinel and the watchdog.
/// </para>
/// <para>
/// The options are validated when the host starts (<c>ValidateOnStart</c>): the data annotations, then the connection-string
/// policy (<see cref="SafeSql.ConnectionStrings.SqlConnectionStringPolicy"/>). A refused connection string stops the host with an
/// <see cref="OptionsValidationException"/> naming each rule broken (SAFESQL001...), the current value and the fix.
/// </para>
/// <para>
/// Every registration uses <c>TryAdd*</c>: calling <c>AddSafeSql</c> twice for the same name registers the services once; the
/// options configuration of both calls applies, in order (the last connection string set wins).
/// </para>
/// </remarks>
public static class SafeSqlServiceCollectionExtensions
{
    /// <summary>Registers a SafeSql instance that uses <paramref name="connectionString"/>.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="connectionString">The SQL Server connection string; validated against the connection-string policy at
    /// startup and normalized.</param>
    /// <param name="name">The instance name, for several databases; <see langword="null"/> registers the default instance
    /// (<see cref="Microsoft.Extensions.Options.Options.DefaultName"/>).</param>
    /// <returns>A builder to configure the instance further.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="connectionString"/> is
    /// <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="connectionString"/> is empty or white space.</exception>
    public static ISafeSqlBuilder AddSafeSql(this IServiceCollection services, string connectionString, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return AddSafeSqlCore(services, name, builder => builder.Configure(options => options.ConnectionString = connectionString));
    }

    /// <summary>Registers a SafeSql instance configured by <paramref name="configure"/>.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options, at least <see cref="SafeSqlOptions.ConnectionString"/>.</param>
    /// <param name="name">The instance name, for several databases; <see langword="null"/> registers the default instance
    /// (<see cref="Microsoft.Extensions.Options.Options.DefaultName"/>).</param>
    /// <returns>A builder to configure the instance further.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="configure"/> is
    /// <see langword="null"/>.</exception>
    public static ISafeSqlBuilder AddSafeSql(this IServiceCollection services, Action<SafeSqlOptions> configure, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        return AddSafeSqlCore(services, name, builder => builder.Configure(configure));
    }

    /// <summary>Registers a SafeSql instance configured by <paramref name="configure"/>, which can read other services (for
    /// example a secret store).</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options, at least <see cref="SafeSqlOptions.ConnectionString"/>; runs when the options
    /// are first needed (at startup), with the root service provider.</param>
    /// <param name="name">The instance name, for several databases; <see langword="null"/> registers the default instance
    /// (<see cref="Microsoft.Extensions.Options.Options.DefaultName"/>).</param>
    /// <returns>A builder to configure the instance further.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="configure"/> is
    /// <see langword="null"/>.</exception>
    public static ISafeSqlBuilder AddSafeSql(this IServiceCollection services, Action<SafeSqlOptions, IServiceProvider> configure, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        return AddSafeSqlCore(services, name, builder => builder.Configure<IServiceProvider>((options, provider) => configure(options, provider)));
    }

    /// <summary>Registers a SafeSql instance bound to a configuration section.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The section holding <see cref="SafeSqlOptions"/>, for example
    /// <c>{ "ConnectionString": "...", "ConnectionStringPolicy": { "MaxPoolSizeLimit": 200 } }</c>. Reloads of the section
    /// apply to options read later; a factory keeps the connection string it started with.</param>
    /// <param name="name">The instance name, for several databases; <see langword="null"/> registers the default instance
    /// (<see cref="Microsoft.Extensions.Options.Options.DefaultName"/>).</param>
    /// <returns>A builder to configure the instance further.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="configuration"/> is
    /// <see langword="null"/>.</exception>
    public static ISafeSqlBuilder AddSafeSql(this IServiceCollection services, IConfiguration configuration, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        return AddSafeSqlCore(services, name, builder => builder.Bind(configuration));
    }

    private static SafeSqlBuilder AddSafeSqlCore(IServiceCollection services, string? name, Action<OptionsBuilder<SafeSqlOptions>> configure)
    {
        name ??= Microsoft.Extensions.Options.Options.DefaultName;

        // Options: the data annotations validator (generated) and the connection-string policy, both run at startup.
        var optionsBuilder = services.AddOptionsWithValidateOnStart<SafeSqlOptions, SafeSqlOptionsValidator>(name);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SafeSqlOptions>, SafeSqlOptionsCustomValidator>());
        configure(optionsBuilder);

        // Shared by every instance.
        services.TryAddSingleton(static provider => new SafeSqlMetrics(provider.GetService<IMeterFactory>()));

        // Per instance: the data source (a singleton, also as DbDataSource) and, per DI scope, a scope of it.
        services.TryAddKeyedSingleton(name, static (provider, key) => SafeSqlDataSource.CreateFromServices(provider, (string)key!));
        services.TryAddKeyedSingleton<DbDataSource>(name, static (provider, key) => provider.GetRequiredKeyedService<SafeSqlDataSource>(key));
        services.TryAddKeyedScoped(name, static (provider, key) => provider.GetRequiredKeyedService<SafeSqlDataSource>(key).CreateServiceScope(provider));
        if (name.Length == 0)
        {
            services.TryAddSingleton(static provider => provider.GetRequiredKeyedService<SafeSqlDataSource>(Microsoft.Extensions.Options.Options.DefaultName));
            services.TryAddSingleton<DbDataSource>(static provider => provider.GetRequiredKeyedService<SafeSqlDataSource>(Microsoft.Extensions.Options.Options.DefaultName));
            services.TryAddScoped(static provider => provider.GetRequiredKeyedService<SafeSqlDataSource>(Microsoft.Extensions.Options.Options.DefaultName).CreateServiceScope(provider));
        }

        return new SafeSqlBuilder(name, services);
    }

    private sealed record SafeSqlBuilder(string Name, IServiceCollection Services) : ISafeSqlBuilder;
}
