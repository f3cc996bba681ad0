using SafeSql.Leases;

namespace SafeSql;

/// <summary>Pool diagnostics for SafeSql's <see cref="ISqlConnectionFactory"/>.</summary>
public static class SqlConnectionFactoryExtensions
{
    /// <summary>Takes a live snapshot of the factory's pool: leases now, Max Pool Size, oldest lease, top call sites.</summary>
    /// <param name="factory">A SafeSql factory or scope (from dependency injection or <see cref="ISqlConnectionFactory.CreateScope"/>).</param>
    /// <returns>The snapshot of the whole pool (all scopes of the named instance), not only of <paramref name="factory"/>'s scope.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="factory"/> is <see langword="null"/>.</exception>
    /// <exception cref="NotSupportedException"><paramref name="factory"/> is not one of SafeSql's factories (for example a test double).</exception>
    /// <remarks>Cost: one pass over the active leases under short per-stripe locks; fine for health checks and dashboards, not for every request.</remarks>
    public static SqlConnectionPoolSnapshot GetPoolSnapshot(this ISqlConnectionFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return factory is ILeaseTrackerOwner owner
            ? owner.Tracker.GetSnapshot()
            : throw new NotSupportedException(
                $"GetPoolSnapshot needs a factory created by SafeSql (AddSafeSql or SafeSqlDataSource); got {factory.GetType().FullName}. Resolve ISqlConnectionFactory from dependency injection.");
    }
}
