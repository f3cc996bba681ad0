using Microsoft.AspNetCore.Builder;

namespace SafeSql.AspNetCore;

/// <summary>Applies each convention (authorization, CORS, rate limiting...) to every endpoint of the diagnostics, so the page and its JSON can never be secured differently.</summary>
internal sealed class CompositeEndpointConventionBuilder : IEndpointConventionBuilder
{
    private readonly IEndpointConventionBuilder[] _builders;

    internal CompositeEndpointConventionBuilder(params IEndpointConventionBuilder[] builders) => _builders = builders;

    public void Add(Action<EndpointBuilder> convention)
    {
        foreach (var builder in _builders)
        {
            builder.Add(convention);
        }
    }

    public void Finally(Action<EndpointBuilder> finallyConvention)
    {
        foreach (var builder in _builders)
        {
            builder.Finally(finallyConvention);
        }
    }
}
