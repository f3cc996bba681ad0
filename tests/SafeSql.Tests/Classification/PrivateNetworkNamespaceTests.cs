using System.ComponentModel.DataAnnotations;

using SafeSql.Testing.Network;

namespace SafeSql.Tests.Classification;

public sealed class PrivateNetworkNamespaceTests
{
    [SkippableFact]
    public async Task RunAsync_DefaultOptions_NarrowsPortRangeAndDisablesTimeWaitReuseInsideOnly()
    {
        Skip.IfNot(PrivateNetworkNamespace.IsSupported, PrivateNetworkNamespace.UnsupportedReason);

        // Arrange
        var hostRange = await File.ReadAllTextAsync("/proc/sys/net/ipv4/ip_local_port_range");

        // Act
        var result = await PrivateNetworkNamespace.RunAsync(
            "/bin/sh",
            ["-c", "cat /proc/sys/net/ipv4/ip_local_port_range /proc/sys/net/ipv4/tcp_tw_reuse; ip -o link show lo"]);

        // Assert
        Assert.Equal(0, result.ExitCode);
        var lines = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("40000\t40049", lines[0]);
        Assert.Equal("0", lines[1]);
        Assert.Contains("UP", lines[2], StringComparison.Ordinal);
        Assert.Equal(hostRange, await File.ReadAllTextAsync("/proc/sys/net/ipv4/ip_local_port_range"));
    }

    [SkippableFact]
    public async Task RunAsync_ProgramRunsPastTimeout_IsKilledAndReportedAsTimedOut()
    {
        Skip.IfNot(PrivateNetworkNamespace.IsSupported, PrivateNetworkNamespace.UnsupportedReason);

        // Act
        var result = await PrivateNetworkNamespace.RunAsync("/bin/sleep", ["30"], new PrivateNetworkNamespaceOptions { Timeout = TimeSpan.FromSeconds(1) });

        // Assert
        Assert.True(result.TimedOut);
        Assert.Equal(-1, result.ExitCode);
    }

    [Fact]
    public async Task RunAsync_RangeEndsBeforeItStarts_ThrowsValidationException()
    {
        // Arrange
        var options = new PrivateNetworkNamespaceOptions { EphemeralPortRangeStart = 40049, EphemeralPortRangeEnd = 40000 };

        // Act
        var exception = await Assert.ThrowsAsync<ValidationException>(() => PrivateNetworkNamespace.RunAsync("/bin/true", [], options));

        // Assert
        Assert.Equal("""EphemeralPortRangeEnd (40000) is below EphemeralPortRangeStart (40049); the range must hold at least one port.""", exception.Message);
    }

    [Fact]
    public void BuildSetupScript_DisableIPv6_WritesTheNamespacedSettings()
    {
        // Arrange
        var options = new PrivateNetworkNamespaceOptions { EphemeralPortRangeStart = 41000, EphemeralPortRangeEnd = 41009, DisableIPv6 = true };

        // Act
        var script = PrivateNetworkNamespace.BuildSetupScript(options);

        // Assert
        Assert.Equal(
            """
            set -e; ip link set lo up; echo '41000 41009' > /proc/sys/net/ipv4/ip_local_port_range; echo 0 > /proc/sys/net/ipv4/tcp_tw_reuse; if [ -w /proc/sys/net/ipv6/conf/lo/disable_ipv6 ]; then echo 1 > /proc/sys/net/ipv6/conf/lo/disable_ipv6; fi; exec "$@"
            """,
            script);
    }
}
