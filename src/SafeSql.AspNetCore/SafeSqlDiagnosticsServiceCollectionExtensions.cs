using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

using SafeSql;
using SafeSql.AspNetCore;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers what <c>MapSafeSqlDiagnostics</c> serves.</summary>
public static class SafeSqlDiagnosticsServiceCollectionExtensions
{
    /// <summary>
    /// Registers the SafeSql diagnostics: a bounded memory of every SafeSql pool's recent leak reports (chained into
    /// <see cref="SqlConnectionLeakOptions.OnLeakDetected"/> after the application's own callback is set, which still runs)
    /// and of its failed opens by kind (read from the "SafeSql" meter). Map the endpoint with <c>MapSafeSqlDiagnostics</c>.
    /// Safe to call more than once; data sources registered before or after this call are all shown. Also registers the
    /// authorization services (<c>AddAuthorization()</c>), which the endpoints need even when mapped with <c>AllowAnonymous</c>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Changes to the defaults of <see cref="SafeSqlDiagnosticsOptions"/>, or <see langword="null"/>.</param>
    /// <returns>The value of <paramref name="services"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is <see langword="null"/>.</exception>
    /// <remarks>Options out of their documented ranges fail at startup with an <see cref="OptionsValidationException"/>.</remarks>
    public static IServiceCollection AddSafeSqlDiagnostics(this IServiceCollection services, Action<SafeSqlDiagnosticsOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<SafeSqlDiagnosticsOptions>().ValidateDataAnnotations().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        // The endpoints carry authorization metadata (required by default, or AllowAnonymous): ASP.NET Core refuses to serve
        // such an endpoint without the authorization middleware, which a WebApplication adds when these services exist.
        services.AddAuthorization();
        services.TryAddSingleton(provider => new DiagnosticsDataSources(provider, services));
        services.TryAddSingleton<SafeSqlDiagnosticsCollector>();
        services.TryAddSingleton<DiagnosticsHealth>();
        services.TryAddSingleton<DiagnosticsTcp>();
        services.TryAddSingleton<DiagnosticsDocumentBuilder>();
        services.TryAddSingleton<DiagnosticsEndpoint>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<SafeSqlOptions>, LeakRecordingPostConfigure>());
        return services;
    }
}
