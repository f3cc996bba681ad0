namespace SafeSql.Tool.Tests;

/// <summary><c>safesql check</c> run as a process: the policy's verdict and exit code (the demo's check runs the same code).</summary>
public sealed class CheckCommandTests
{
    [Theory]
    [InlineData("Password")]
    [InlineData("Pwd")]
    public async Task Check_PoolingFalse_ExitsTwoWithTheRuleAndNeverThePassword(string passwordKeyword)
    {
        // Act
        var run = await ToolProcess.RunAsync("check", $"Server=tcp:db.example.com,1433;User ID=app;{passwordKeyword}=Sup3r-Secret;Pooling=false");

        // Assert
        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("Refused: SAFESQL004 (1 error, 0 warnings).", run.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("    Source: ", run.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("Sup3r-Secret", run.AllOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Main_NoCommand_ExitsUsageErrorWithUsage()
    {
        // Act
        var run = await ToolProcess.RunAsync();

        // Assert
        Assert.Equal(64, run.ExitCode);
        Assert.Matches(@"^safesql \d+\.\d+\.\d+: checks SQL Server connection strings", run.StandardError);
        Assert.Contains("Usage: safesql check \"<connection string>\"", run.StandardError, StringComparison.Ordinal);
        Assert.Equal(string.Empty, run.StandardOutput);
    }
}
