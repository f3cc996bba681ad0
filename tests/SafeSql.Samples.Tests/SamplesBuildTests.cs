namespace SafeSql.Samples.Tests;

public class SamplesBuildTests
{
    [Fact]
    public void WebApi_EntryAssembly_IsReferenced()
    {
        Assert.Equal("SafeSql.WebApi", typeof(Program).Assembly.GetName().Name);
    }
}
