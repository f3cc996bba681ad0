namespace SafeSql.Testing.Tests;

public class SkeletonTests
{
    [Fact]
    public void LoopbackSqlServer_TypeExists()
    {
        Assert.Equal("SafeSql.Testing", typeof(LoopbackSqlServer).Namespace);
    }
}
