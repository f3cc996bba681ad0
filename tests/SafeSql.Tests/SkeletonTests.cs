using Microsoft.Data.SqlClient;

namespace SafeSql.Tests;

public class SkeletonTests
{
    [Fact]
    public void SqlConnectionStringBuilder_ParsesPooling_FromTheRealClient()
    {
        // Arrange / Act
        var builder = new SqlConnectionStringBuilder("Server=tcp:127.0.0.1,1433;Pooling=false");

        // Assert
        Assert.False(builder.Pooling);
    }
}
