using Microsoft.Extensions.DependencyInjection;

namespace SafeSql;

/// <summary>
/// Returned by <c>AddSafeSql</c> to configure one SafeSql instance further (its options, its connection-string policy);
/// the configuration methods are extension methods such as
/// <see cref="SafeSqlBuilderExtensions.Configure(ISafeSqlBuilder, Action{SafeSqlOptions})"/>.
/// </summary>
public interface ISafeSqlBuilder
{
    /// <summary>Gets the name of the SafeSql instance being configured.</summary>
    /// <value>The options name and the service key of its keyed services;
    /// <see cref="Microsoft.Extensions.Options.Options.DefaultName"/> (an empty string) for the default instance.</value>
    string Name { get; }

    /// <summary>Gets the service collection the instance is registered in.</summary>
    /// <value>The collection <c>AddSafeSql</c> was called on.</value>
    IServiceCollection Services { get; }
}
