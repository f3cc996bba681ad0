using System.Text.Json;

using SafeSql.Testing.Network;

namespace SafeSql.Tests.Classification;

/// <summary>
/// Real ephemeral port exhaustion: SafeSql.NetworkLab runs Pooling=false opens with the real SqlClient in a private network
/// namespace (50 ephemeral ports, tcp_tw_reuse=0) until connect fails, and prints what the client threw and what SafeSql
/// made of it. Needs root (CI runs as root); skipped with the reason otherwise.
/// </summary>
public sealed class SocketExhaustionTests
{
    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ClassifyOpenFailure_PortsExhaustedInPrivateNamespace_ReturnsSocketExhaustionWithProbeFigures(bool async)
    {
        Skip.IfNot(PrivateNetworkNamespace.IsSupported, PrivateNetworkNamespace.UnsupportedReason);

        // Arrange / Act: 50 ephemeral ports; every closed unpooled connection keeps its port in TIME_WAIT.
        using var report = await RunLabAsync("exhaust", async);

        // Assert: the 51st open fails; SqlClient 6.1+ reports EADDRNOTAVAIL as Number 10049 with the SocketException inside.
        var root = report.RootElement;
        Assert.Equal(50, root.GetProperty("opensBeforeFailure").GetInt32());
        var exception = root.GetProperty("exception");
        Assert.Equal(10049, exception.GetProperty("number").GetInt32());
        Assert.Equal(20, exception.GetProperty("class").GetInt32());
        Assert.Equal("System.Net.Sockets.SocketException", exception.GetProperty("innerException").GetString());
        Assert.Equal("AddressNotAvailable", exception.GetProperty("innerSocketError").GetString());
        Assert.Contains("(provider: TCP Provider, error: 35 - ", exception.GetProperty("message").GetString(), StringComparison.Ordinal);

        // ... and SafeSql calls it exhaustion, with the operating system's figures in the explanation.
        var failure = root.GetProperty("failure");
        Assert.Equal("SocketExhaustion", failure.GetProperty("kind").GetString());
        Assert.True(failure.GetProperty("isTransient").GetBoolean());
        Assert.Equal("AddressNotAvailable", failure.GetProperty("socketError").GetString());
        var snapshot = failure.GetProperty("snapshot");
        Assert.Equal(50, snapshot.GetProperty("ephemeralPortCount").GetInt32());
        Assert.Equal(50, snapshot.GetProperty("connectionsTowardsEndPoint").GetInt32());
        Assert.Equal(50, snapshot.GetProperty("timeWaitTowardsEndPoint").GetInt32());
        Assert.Equal(0, snapshot.GetProperty("tcpTimeWaitReuse").GetInt32());
        Assert.Contains(
            "50 of 50 ephemeral ports (40000-40049) in use towards 127.0.0.1:1433, 50 of them in TIME_WAIT",
            failure.GetProperty("explanation").GetString(),
            StringComparison.Ordinal);
        Assert.Contains("Enable connection pooling", failure.GetProperty("explanation").GetString(), StringComparison.Ordinal);

        // The open pipeline retries exhaustion once, after SocketExhaustionDelay (200 ms ±20 % in the lab), then rethrows the
        // original exception instance.
        var pipeline = root.GetProperty("pipeline");
        Assert.Equal(2, pipeline.GetProperty("attempts").GetInt32());
        var delays = pipeline.GetProperty("retryDelaysMilliseconds").EnumerateArray().Select(d => d.GetDouble()).ToArray();
        var delay = Assert.Single(delays);
        Assert.InRange(delay, 160, 240);
        Assert.Equal("SocketExhaustion", Assert.Single(pipeline.GetProperty("retriedKinds").EnumerateArray()).GetString());
        Assert.True(pipeline.GetProperty("threwOriginalInstance").GetBoolean());
        Assert.Equal(10049, pipeline.GetProperty("thrownNumber").GetInt32());
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ClassifyOpenFailure_RefusalWithFewTimeWaitSocketsInPrivateNamespace_ReturnsConnectionRefusedNotExhaustion(bool async)
    {
        Skip.IfNot(PrivateNetworkNamespace.IsSupported, PrivateNetworkNamespace.UnsupportedReason);

        // Arrange / Act: same namespace, same 50 ports, but the server is stopped after one open.
        using var report = await RunLabAsync("refuse", async);

        // Assert: SqlClient 6.1+ on Linux lost the refusal's error code (Number 0, error 35, inner SocketException "Success")...
        var root = report.RootElement;
        var exception = root.GetProperty("exception");
        Assert.Equal(0, exception.GetProperty("number").GetInt32());
        Assert.Equal(20, exception.GetProperty("class").GetInt32());
        Assert.Equal("System.Net.Sockets.SocketException", exception.GetProperty("innerException").GetString());
        Assert.Equal("Success", exception.GetProperty("innerSocketError").GetString());
        Assert.Contains("(provider: TCP Provider, error: 35 - ", exception.GetProperty("message").GetString(), StringComparison.Ordinal);

        // ... so one TIME_WAIT socket for 50 ports (the namespace's totals, /proc/net/sockstat, already rule exhaustion out)
        // and a refused diagnostic connect make it a refusal.
        var failure = root.GetProperty("failure");
        Assert.Equal("ConnectionRefused", failure.GetProperty("kind").GetString());
        Assert.Equal("ConnectionRefused", failure.GetProperty("socketError").GetString());
        var snapshot = failure.GetProperty("snapshot");
        Assert.Equal(1, snapshot.GetProperty("timeWaitTotal").GetInt32());
        Assert.False(snapshot.GetProperty("indicatesExhaustion").GetBoolean());
        Assert.Equal("/proc/net/sockstat", snapshot.GetProperty("source").GetString());
        Assert.Contains(
            "A diagnostic connect to 127.0.0.1:1433 was refused (ECONNREFUSED) and only 1 TCP socket exists in all (1 in TIME_WAIT) for 50 ephemeral ports (40000-40049), so this is a refusal, not port exhaustion",
            failure.GetProperty("explanation").GetString(),
            StringComparison.Ordinal);
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ClassifyOpenFailure_IPv6LoopbackWithoutIPv6_ReturnsNetworkUnreachableAndSaysWhy(bool async)
    {
        Skip.IfNot(PrivateNetworkNamespace.IsSupported, PrivateNetworkNamespace.UnsupportedReason);

        // Arrange / Act: a namespace whose loopback has no ::1 (a container without IPv6); connect to tcp:[::1],1433.
        using var report = await RunLabAsync("ipv6", async, new PrivateNetworkNamespaceOptions { DisableIPv6 = true });

        // Assert: EADDRNOTAVAIL, but with no ports in use it is not exhaustion; the explanation says so.
        var failure = report.RootElement.GetProperty("failure");
        Assert.Equal("NetworkUnreachable", failure.GetProperty("kind").GetString());
        Assert.False(failure.GetProperty("isTransient").GetBoolean());
        Assert.Equal("AddressNotAvailable", failure.GetProperty("socketError").GetString());
        var explanation = failure.GetProperty("explanation").GetString();
        Assert.Contains("Connecting to [::1]:1433 failed with AddressNotAvailable (EADDRNOTAVAIL), but the figures rule out port exhaustion: only 1 TCP socket exists in all (0 in TIME_WAIT) for 50 ephemeral ports (40000-40049).", explanation, StringComparison.Ordinal);
        Assert.Contains("typically an IPv6 address such as [::1] in a container or host without IPv6", explanation, StringComparison.Ordinal);
    }

    private static async Task<JsonDocument> RunLabAsync(string mode, bool async, PrivateNetworkNamespaceOptions? options = null)
    {
        string[] arguments = async ? [mode, "--async", "--max-opens", "200"] : [mode, "--max-opens", "200"];
        var result = await PrivateNetworkNamespace.RunDotNetAsync(NetworkLab.AssemblyPath, arguments, options ?? new PrivateNetworkNamespaceOptions());
        Assert.False(result.TimedOut, "SafeSql.NetworkLab timed out. stderr: " + result.StandardError);
        Assert.True(result.ExitCode == 0, $"SafeSql.NetworkLab exited with {result.ExitCode}. stdout: {result.StandardOutput} stderr: {result.StandardError}");
        return JsonDocument.Parse(result.StandardOutput);
    }
}
