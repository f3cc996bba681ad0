using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Text;

namespace SafeSql.Testing.Network;

/// <summary>
/// A web farm on one Linux machine: a server host and N client hosts (web servers), each its own network namespace
/// (<c>ip netns</c>), joined by veth pairs to a bridge in the server host on the private network 10.77.0.0/24. Programs started
/// on a host (<see cref="StartProcess"/>) see only that host's network: its address, its ephemeral port range, its
/// <c>tcp_tw_reuse</c>, and, on the server host, its <c>somaxconn</c> and <c>tcp_abort_on_overflow</c>.
/// </summary>
/// <remarks>
/// <para>
/// Needs Linux, root and <c>ip</c> (iproute2) with bridge and veth support; <see cref="IsSupported"/> checks them once by building
/// a throw-away namespace, and <see cref="UnsupportedReason"/> says what is missing, so a test can skip with that reason.
/// </para>
/// <para>
/// Nothing is created in the machine's own namespace: the bridge and every veth end live inside the farm's namespaces, and
/// vanish with them. <see cref="DisposeAsync"/> kills every process started here and deletes every namespace, also when
/// <see cref="CreateAsync"/> fails half-way. Namespaces are named <c>safesql-farm-PID-N-server</c> and
/// <c>safesql-farm-PID-N-clientI</c>; a farm left behind by a process that was killed is deleted by the next
/// <see cref="CreateAsync"/> (its PID no longer runs). <see cref="FindLeftovers"/> lists what remains.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// await using var farm = await WebFarm.CreateAsync(new WebFarmOptions { ClientHosts = 4 });
/// await using var server = farm.StartProcess(farm.Server, "dotnet", ["Server.dll", "--listen", farm.Server.Address.ToString()]);
/// await using var client = farm.StartProcess(farm.Clients[0], "dotnet", ["Client.dll", farm.Server.Address.ToString()]);
/// var overflows = (await farm.ReadListenCountersAsync()).ListenOverflows;
/// </code>
/// </example>
[Experimental(NetworkLabDiagnostics.ExperimentalId, UrlFormat = NetworkLabDiagnostics.ExperimentalUrl)]
public sealed class WebFarm : IAsyncDisposable
{
    /// <summary>The most client hosts a farm can have.</summary>
    public const int MaxClientHosts = 32;

    /// <summary>The prefix of every namespace a farm creates.</summary>
    public const string NamespacePrefix = "safesql-farm-";

    private const string NetnsDirectory = "/var/run/netns";
    private static readonly Lazy<string?> s_unsupportedReason = new(DetectUnsupportedReason);
    private static int s_nextFarm;

    private readonly List<WebFarmProcess> _processes = [];
    private readonly Lock _processesLock = new();
    private readonly WebFarmOptions _options;
    private bool _disposed;

    private WebFarm(string id, WebFarmOptions options)
    {
        Id = id;
        _options = options;
        Server = new WebFarmHost(id + "-server", IPAddress.Parse("10.77.0.1"), 0);
        Clients = [.. Enumerable.Range(1, options.ClientHosts).Select(i => new WebFarmHost(
            string.Create(CultureInfo.InvariantCulture, $"{id}-client{i}"),
            IPAddress.Parse(string.Create(CultureInfo.InvariantCulture, $"10.77.0.{i + 1}")),
            i))];
    }

    /// <summary>Gets a value indicating whether web farms can be built here.</summary>
    /// <value><see langword="true"/> on Linux as root with <c>ip</c> able to create namespaces, a bridge and veth pairs.</value>
    public static bool IsSupported => s_unsupportedReason.Value is null;

    /// <summary>Gets why <see cref="IsSupported"/> is <see langword="false"/>; <see langword="null"/> when supported.</summary>
    public static string? UnsupportedReason => s_unsupportedReason.Value;

    /// <summary>Gets the farm's id, the common start of its namespaces' names (<c>safesql-farm-PID-N</c>).</summary>
    public string Id { get; }

    /// <summary>Gets the server host (10.77.0.1).</summary>
    public WebFarmHost Server { get; }

    /// <summary>Gets the client hosts (10.77.0.2 onwards), in order.</summary>
    public IReadOnlyList<WebFarmHost> Clients { get; }

    /// <summary>Gets the namespaces of this farm, server first.</summary>
    public IEnumerable<string> Namespaces => [Server.Namespace, .. Clients.Select(static c => c.Namespace)];

    /// <summary>Builds a farm: the namespaces, the bridge and veth pairs, the addresses and the settings of
    /// <paramref name="options"/>.</summary>
    /// <param name="options">The farm's settings; <see langword="null"/> for the defaults (8 client hosts with ports 1024-5000
    /// and tcp_tw_reuse=0; RST on accept-queue overflow on the server host).</param>
    /// <param name="cancellationToken">Abandons the build (what was built is deleted).</param>
    /// <returns>The farm; dispose it to delete it.</returns>
    /// <exception cref="ValidationException"><paramref name="options"/> has a value outside its documented range, or the port
    /// range ends before it starts.</exception>
    /// <exception cref="PlatformNotSupportedException">Web farms are not supported here; the message is <see cref="UnsupportedReason"/>.</exception>
    /// <exception cref="InvalidOperationException">An <c>ip</c> command failed (its error output is in the message); nothing is left behind.</exception>
    public static async Task<WebFarm> CreateAsync(WebFarmOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new WebFarmOptions();
        EphemeralPortRange.Validate(options, options.EphemeralPortRangeStart, options.EphemeralPortRangeEnd);

        if (UnsupportedReason is { } reason)
        {
            throw new PlatformNotSupportedException(reason);
        }

        await DeleteAbandonedFarmsAsync().ConfigureAwait(false);
        var id = string.Create(CultureInfo.InvariantCulture, $"{NamespacePrefix}{Environment.ProcessId}-{Interlocked.Increment(ref s_nextFarm)}");
        var farm = new WebFarm(id, options);
        try
        {
            var setup = await NetworkLabCommand.RunAsync("/bin/sh", ["-c", farm.BuildSetupScript()], NetworkLabCommand.DefaultTimeout, cancellationToken).ConfigureAwait(false);
            if (setup.ExitCode != 0)
            {
                throw new InvalidOperationException($"Building the web farm {id} failed ({setup.Ending}): {setup.Error.Trim()}");
            }

            return farm;
        }
        catch
        {
            await farm.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Lists the namespaces of web farms that still exist on this machine (of any process, this one included).</summary>
    /// <returns>The names, for example <c>safesql-farm-4711-1-server</c>; empty when every farm was deleted.</returns>
    public static IReadOnlyList<string> FindLeftovers() =>
        Directory.Exists(NetnsDirectory)
            ? [.. Directory.EnumerateFiles(NetnsDirectory, NamespacePrefix + "*").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)]
            : [];

    /// <summary>Starts a program on a host of this farm (<c>ip netns exec</c>), with standard input, output and error
    /// redirected. It is killed after <see cref="WebFarmOptions.ProcessTimeout"/>, and by <see cref="DisposeAsync"/>.</summary>
    /// <param name="host">The host: <see cref="Server"/> or one of <see cref="Clients"/>.</param>
    /// <param name="fileName">The program (a path, or a name found on PATH).</param>
    /// <param name="arguments">Its arguments.</param>
    /// <returns>The running process.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="host"/> is not a host of this farm.</exception>
    /// <exception cref="ObjectDisposedException">The farm was disposed.</exception>
    public WebFarmProcess StartProcess(WebFarmHost host, string fileName, IReadOnlyList<string> arguments)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(fileName);
        ArgumentNullException.ThrowIfNull(arguments);
        if (!Namespaces.Contains(host.Namespace))
        {
            throw new ArgumentException($"{host.Namespace} is not a host of the web farm {Id}.", nameof(host));
        }

        var startInfo = new ProcessStartInfo(NetworkLabTools.Find("ip"))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        foreach (var argument in (IEnumerable<string>)["netns", "exec", host.Namespace, fileName, .. arguments])
        {
            startInfo.ArgumentList.Add(argument);
        }

        lock (_processesLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var process = new WebFarmProcess(host, startInfo, _options.ProcessTimeout);
            _processes.Add(process);
            return process;
        }
    }

    /// <summary>Starts a .NET program (its .dll) with the current <c>dotnet</c> host on a host of this farm.</summary>
    /// <param name="host">The host: <see cref="Server"/> or one of <see cref="Clients"/>.</param>
    /// <param name="assemblyPath">The program's main assembly.</param>
    /// <param name="arguments">Its arguments.</param>
    /// <returns>The running process.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="FileNotFoundException"><paramref name="assemblyPath"/> does not exist (build the program first).</exception>
    /// <exception cref="ObjectDisposedException">The farm was disposed.</exception>
    public WebFarmProcess StartDotNet(WebFarmHost host, string assemblyPath, IReadOnlyList<string> arguments)
    {
        ArgumentNullException.ThrowIfNull(assemblyPath);
        ArgumentNullException.ThrowIfNull(arguments);
        if (!File.Exists(assemblyPath))
        {
            throw new FileNotFoundException($"The program {assemblyPath} does not exist; build it first (dotnet build -c Release).", assemblyPath);
        }

        return StartProcess(host, NetworkLabTools.FindDotNetHost(), [assemblyPath, .. arguments]);
    }

    /// <summary>Reads the TCP listen counters of a host (<c>TcpExt</c> in its <c>/proc/net/netstat</c>, <c>Tcp</c> in its
    /// <c>/proc/net/snmp</c>): how often a full accept queue turned a connection away, and how many resets the host sent.</summary>
    /// <param name="host">The host; <see langword="null"/> for <see cref="Server"/>.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The counters since the farm was built (they start at 0 in a new namespace).</returns>
    /// <exception cref="InvalidOperationException">The counters could not be read.</exception>
    public async Task<WebFarmListenCounters> ReadListenCountersAsync(WebFarmHost? host = null, CancellationToken cancellationToken = default)
    {
        host ??= Server;
        var read = await NetworkLabCommand.RunAsync(NetworkLabTools.Find("ip"), ["netns", "exec", host.Namespace, "cat", "/proc/net/netstat", "/proc/net/snmp"], NetworkLabCommand.DefaultTimeout, cancellationToken).ConfigureAwait(false);
        return read.ExitCode == 0 && WebFarmListenCounters.TryParse(read.Output, out var counters)
            ? counters
            : throw new InvalidOperationException($"Reading /proc/net/netstat and /proc/net/snmp in {host.Namespace} failed ({read.Ending}): {read.Error.Trim()}");
    }

    /// <summary>Kills every process started in the farm, waits for them, and deletes the farm's namespaces (with them the
    /// bridge, the veth pairs and every socket). Safe to call more than once.</summary>
    /// <returns>A task that completes when the farm is gone.</returns>
    public async ValueTask DisposeAsync()
    {
        WebFarmProcess[] processes;
        lock (_processesLock)
        {
            _disposed = true;
            processes = [.. _processes];
            _processes.Clear();
        }

        try
        {
            foreach (var process in processes)
            {
                await process.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            // The namespaces go, with their links, bridge and sockets, once no process of the farm is left in them.
            await DeleteNamespacesAsync(Namespaces).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"WebFarm {Id}: server {Server.Address}, {Clients.Count} client hosts ({_options.EphemeralPortRangeStart}-{_options.EphemeralPortRangeEnd}, tcp_tw_reuse={_options.TcpTimeWaitReuse}), somaxconn={_options.ServerSomaxconn}, tcp_abort_on_overflow={(_options.ServerAbortOnOverflow ? 1 : 0)}, tcp_syncookies={_options.ServerSynCookies}");

    /// <summary>The shell script, run as root in the machine's namespace, that builds the farm (set -e: the first failure stops it).</summary>
    internal string BuildSetupScript()
    {
        var server = Server.Namespace;
        var script = new StringBuilder("set -e\n");
        script.Append(CultureInfo.InvariantCulture, $"ip netns add {server}\n");
        script.Append(CultureInfo.InvariantCulture, $"ip -n {server} link set lo up\n");
        script.Append(CultureInfo.InvariantCulture, $"ip -n {server} link add farm0 type bridge\n");
        script.Append(CultureInfo.InvariantCulture, $"ip -n {server} addr add {Server.Address}/24 dev farm0\n");
        script.Append(CultureInfo.InvariantCulture, $"ip -n {server} link set farm0 up\n");
        script.Append(CultureInfo.InvariantCulture, $"ip netns exec {server} sh -c 'echo {_options.ServerSomaxconn} > /proc/sys/net/core/somaxconn; echo {(_options.ServerAbortOnOverflow ? 1 : 0)} > /proc/sys/net/ipv4/tcp_abort_on_overflow; echo {_options.ServerSynCookies} > /proc/sys/net/ipv4/tcp_syncookies'\n");
        foreach (var client in Clients)
        {
            // The veth pair is created inside the server's namespace and its peer moved straight into the client's: no link
            // ever exists in the machine's own namespace, and names only need to be unique inside each farm.
            script.Append(CultureInfo.InvariantCulture, $"ip netns add {client.Namespace}\n");
            script.Append(CultureInfo.InvariantCulture, $"ip -n {client.Namespace} link set lo up\n");
            script.Append(CultureInfo.InvariantCulture, $"ip -n {server} link add c{client.Index} type veth peer name eth0 netns {client.Namespace}\n");
            script.Append(CultureInfo.InvariantCulture, $"ip -n {server} link set c{client.Index} master farm0\n");
            script.Append(CultureInfo.InvariantCulture, $"ip -n {server} link set c{client.Index} up\n");
            script.Append(CultureInfo.InvariantCulture, $"ip -n {client.Namespace} addr add {client.Address}/24 dev eth0\n");
            script.Append(CultureInfo.InvariantCulture, $"ip -n {client.Namespace} link set eth0 up\n");
            script.Append(CultureInfo.InvariantCulture, $"ip netns exec {client.Namespace} sh -c 'echo \"{_options.EphemeralPortRangeStart} {_options.EphemeralPortRangeEnd}\" > /proc/sys/net/ipv4/ip_local_port_range; echo {_options.TcpTimeWaitReuse} > /proc/sys/net/ipv4/tcp_tw_reuse'\n");
        }

        return script.ToString();
    }

    private static async Task DeleteNamespacesAsync(IEnumerable<string> namespaces)
    {
        var existing = namespaces.Where(static n => File.Exists(Path.Combine(NetnsDirectory, n))).ToArray();
        if (existing.Length == 0)
        {
            return;
        }

        // One shell for all: each deletion is tried even when another fails (a namespace already gone).
        var script = string.Join('\n', existing.Select(static n => $"ip netns del {n} 2>/dev/null || true"));
        await NetworkLabCommand.RunAsync("/bin/sh", ["-c", script], NetworkLabCommand.DefaultTimeout, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Deletes the namespaces of farms whose process no longer runs (a test host that was killed).</summary>
    private static Task DeleteAbandonedFarmsAsync()
    {
        var abandoned = FindLeftovers().Where(static name =>
        {
            var pidText = name[NamespacePrefix.Length..].Split('-')[0];
            return int.TryParse(pidText, NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && pid != Environment.ProcessId
                && !Directory.Exists(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}"));
        });
        return DeleteNamespacesAsync(abandoned);
    }

    private static string? DetectUnsupportedReason()
    {
        // A throw-away namespace with a bridge and a veth pair: everything a farm needs.
        var probe = string.Create(CultureInfo.InvariantCulture, $"{NamespacePrefix}{Environment.ProcessId}-probe");
        return NetworkLabSupport.DetectUnsupportedReason(
            notLinux: "a web farm of network namespaces (ip netns) exists only on Linux",
            tools: [("ip", "iproute2")],
            probeFileName: "/bin/sh",
            probeArguments: ["-c", $"set -e; ip netns add {probe}; ip -n {probe} link add farm0 type bridge; ip -n {probe} link add c1 type veth peer name eth0; ip -n {probe} link set c1 master farm0"],
            probeFailed: "'ip netns' could not build a namespace with a bridge and a veth pair",
            likelyCause: "a container without CAP_SYS_ADMIN or without the bridge/veth modules?",
            cleanUp: () =>
            {
                if (File.Exists(Path.Combine(NetnsDirectory, probe)))
                {
                    NetworkLabCommand.Run(NetworkLabTools.Find("ip"), ["netns", "del", probe], NetworkLabCommand.DefaultTimeout);
                }
            });
    }
}
