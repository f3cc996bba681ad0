using System.Net;

using SafeSql.ConnectionStrings;

namespace SafeSql.Tests.ConnectionStrings;

public sealed class SqlServerAddressTests
{
    [Theory]
    [InlineData("tcp:127.0.0.1,14330", "127.0.0.1", 14330, true)]
    [InlineData("10.0.0.5", "10.0.0.5", 1433, true)]
    [InlineData("db.example.com,1500", "db.example.com", 1500, true)]
    [InlineData(@"db\SQLEXPRESS", "db", 0, true)]
    [InlineData(@"db\SQLEXPRESS,1600", "db", 1600, true)]
    [InlineData("tcp:[::1],1433", "::1", 1433, true)]
    [InlineData("(local)", "localhost", 1433, true)]
    [InlineData(".", "localhost", 1433, true)]
    public void TryParse_DataSourceForms_ReturnsHostPortAndProtocol(string dataSource, string host, int port, bool isTcp)
    {
        // Act
        var parsed = SqlServerAddress.TryParse(dataSource, out var result);

        // Assert
        Assert.True(parsed);
        Assert.Equal(host, result.Host);
        Assert.Equal(port, result.Port);
        Assert.Equal(isTcp, result.IsTcp);
    }

    [Fact]
    public void TryParse_NamedPipes_IsNotTcp()
    {
        // Act
        var parsed = SqlServerAddress.TryParse(@"np:\\db\pipe\sql\query", out var result);

        // Assert
        Assert.True(parsed);
        Assert.False(result.IsTcp);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(" ")]
    [InlineData("tcp:host,notaport")]
    [InlineData("tcp:host,70000")]
    public void TryParse_Invalid_ReturnsFalse(string? dataSource)
    {
        // Act
        var parsed = SqlServerAddress.TryParse(dataSource, out _);

        // Assert
        Assert.False(parsed);
    }

    [Fact]
    public void ToEndPoint_Localhost_IsIPv4LoopbackWithoutDns()
    {
        // Arrange
        Assert.True(SqlServerAddress.TryParse("localhost,1500", out var source));

        // Act
        var endPoint = source.ToEndPoint();

        // Assert
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 1500), endPoint);
    }

    [Fact]
    public void ToEndPoint_UnresolvedName_MeansAnyAddressOnThatPort()
    {
        // Arrange
        Assert.True(SqlServerAddress.TryParse("db.invalid,1500", out var source));

        // Act
        var endPoint = source.ToEndPoint();

        // Assert
        Assert.Equal(new IPEndPoint(IPAddress.Any, 1500), endPoint);
    }
}
