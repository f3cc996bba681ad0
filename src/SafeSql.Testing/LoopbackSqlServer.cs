namespace SafeSql.Testing;

/// <summary>Skeleton: the loopback server issue fills this in.</summary>
public sealed class LoopbackSqlServer
{
    private LoopbackSqlServer()
    {
    }
}
