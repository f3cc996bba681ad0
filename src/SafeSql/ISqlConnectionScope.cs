namespace SafeSql;

/// <summary>
/// A unit of work that owns the leases of the connections opened through it.
/// </summary>
/// <remarks>
/// Disposing the scope disposes every connection opened through it that is still open (returning it to the connection
/// pool) and reports each one as a leak of kind "not disposed before scope end". The request's DI scope in ASP.NET Core
/// is such a scope; elsewhere use <see cref="ISqlConnectionFactory.CreateScope"/> with <c>await using</c>.
/// </remarks>
public interface ISqlConnectionScope : ISqlConnectionFactory, IDisposable, IAsyncDisposable
{
}
