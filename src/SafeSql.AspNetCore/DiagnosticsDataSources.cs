using Microsoft.Extensions.DependencyInjection;

namespace SafeSql.AspNetCore;

/// <summary>
/// Every SafeSql data source the application registered (<c>AddSafeSql</c>, default and named): the names are read from
/// the service collection once it is built, so registrations made after <c>AddSafeSqlDiagnostics</c> count too.
/// </summary>
internal sealed class DiagnosticsDataSources
{
    private readonly IServiceProvider _services;
    private readonly IServiceCollection _registrations;
    private SafeSqlDataSource[]? _dataSources;

    internal DiagnosticsDataSources(IServiceProvider services, IServiceCollection registrations)
    {
        _services = services;
        _registrations = registrations;
    }

    /// <summary>Gets the data sources, ordered by name (the default instance, named "", first). Resolving creates them, as any consumer would.</summary>
    internal IReadOnlyList<SafeSqlDataSource> All => _dataSources ??= Resolve();

    private SafeSqlDataSource[] Resolve()
    {
        var names = _registrations
            .Where(static descriptor => descriptor.IsKeyedService && descriptor.ServiceType == typeof(SafeSqlDataSource) && descriptor.ServiceKey is string)
            .Select(static descriptor => (string)descriptor.ServiceKey!)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal);
        return [.. names.Select(name => _services.GetRequiredKeyedService<SafeSqlDataSource>(name))];
    }
}
