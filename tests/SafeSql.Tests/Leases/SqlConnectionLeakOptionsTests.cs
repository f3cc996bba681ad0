using System.ComponentModel.DataAnnotations;

namespace SafeSql.Tests.Leases;

public sealed class SqlConnectionLeakOptionsTests
{
    [Fact]
    public void Constructor_Defaults_CallSiteCaptureAndThirtySecondThreshold()
    {
        // Act
        var options = new SqlConnectionLeakOptions();

        // Assert
        Assert.Equal(SqlConnectionStackCaptureMode.CallSite, options.StackCapture);
        Assert.Equal(TimeSpan.FromSeconds(30), options.LeakDetectionThreshold);
        Assert.Null(options.OnLeakDetected);
        Assert.Empty(Validate(options));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("00:00:02")]
    [InlineData("1.00:00:00")]
    public void Validate_ThresholdOffOrInRange_Succeeds(string? threshold)
    {
        // Arrange
        var options = new SqlConnectionLeakOptions { LeakDetectionThreshold = threshold is null ? null : TimeSpan.Parse(threshold, System.Globalization.CultureInfo.InvariantCulture) };

        // Act
        var errors = Validate(options);

        // Assert
        Assert.Empty(errors);
    }

    [Theory]
    [InlineData("00:00:01.999")]
    [InlineData("1.00:00:01")]
    [InlineData("00:00:00")]
    [InlineData("-00:00:00.001")] // Timeout.InfiniteTimeSpan: null, not infinity, turns the watchdog off
    public void Validate_ThresholdOutOfRange_FailsWithTheRange(string threshold)
    {
        // Arrange
        var options = new SqlConnectionLeakOptions { LeakDetectionThreshold = TimeSpan.Parse(threshold, System.Globalization.CultureInfo.InvariantCulture) };

        // Act
        var error = Assert.Single(Validate(options));

        // Assert
        Assert.Equal("""The field LeakDetectionThreshold must be between 00:00:02 and 1.00:00:00 (HikariCP's minimum leakDetectionThreshold to one day), or null to turn the held-too-long watchdog off; zero and Timeout.InfiniteTimeSpan are not accepted.""", error);
    }

    [Fact]
    public void Validate_UndefinedStackCaptureMode_Fails()
    {
        // Arrange
        var options = new SqlConnectionLeakOptions { StackCapture = (SqlConnectionStackCaptureMode)7 };

        // Act
        var error = Assert.Single(Validate(options));

        // Assert
        Assert.Equal("""The field StackCapture is invalid.""", error);
    }

    private static List<string?> Validate(SqlConnectionLeakOptions options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return [.. results.Select(r => r.ErrorMessage)];
    }
}
