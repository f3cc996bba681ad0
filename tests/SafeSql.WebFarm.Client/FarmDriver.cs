// Drives a web farm: builds it (SafeSql.Testing.Network.WebFarm), starts the farm program (FarmProgram.cs) on the server
// host and on every client host, in parallel, and sends them commands. Compiled into SafeSql.Tests and the demo.

using System.Globalization;
using System.Text.Json.Nodes;

using SafeSql.Testing.Network;

namespace SafeSql.Farm;

/// <summary>A built farm with its programs running: the server host's and one per client host.</summary>
internal sealed class FarmDriver : IAsyncDisposable
{
    public const int ServerPort = 1433;

    private FarmDriver(WebFarm farm, WebFarmProcess server, WebFarmProcess[] clients)
    {
        Farm = farm;
        Server = server;
        Clients = clients;
    }

    public WebFarm Farm { get; }

    public WebFarmProcess Server { get; }

    public IReadOnlyList<WebFarmProcess> Clients { get; }

    /// <summary>The <c>Data Source</c> of the server host, without the <c>tcp:</c> prefix.</summary>
    public string ServerEndPoint => string.Create(CultureInfo.InvariantCulture, $"{Farm.Server.Address},{ServerPort}");

    /// <summary>Builds the farm and starts the programs: <c>dotnet assembly [prefix...] serve|client ...</c>.</summary>
    public static async Task<FarmDriver> StartAsync(string assemblyPath, IReadOnlyList<string> prefix, WebFarmOptions options, TimeSpan timeout)
    {
        var farm = await WebFarm.CreateAsync(options);
        try
        {
            var server = farm.StartDotNet(farm.Server, assemblyPath, [.. prefix, "serve", "--listen", farm.Server.Address.ToString(), "--port", ServerPort.ToString(CultureInfo.InvariantCulture)]);
            var endPoint = string.Create(CultureInfo.InvariantCulture, $"{farm.Server.Address},{ServerPort}");
            var clients = farm.Clients
                .Select(c => farm.StartDotNet(c, assemblyPath, [.. prefix, "client", "--server", endPoint, "--host", c.Index.ToString(CultureInfo.InvariantCulture)]))
                .ToArray();
            var driver = new FarmDriver(farm, server, clients);
            await Task.WhenAll(clients.Select(c => ReadJsonAsync(c, timeout))); // {"event":"ready"}
            return driver;
        }
        catch
        {
            await farm.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sends a line to the server host's program and reads its answer.</summary>
    public async Task<JsonObject> ServerAsync(string line, TimeSpan timeout)
    {
        await Server.WriteLineAsync(line);
        return await ReadJsonAsync(Server, timeout);
    }

    /// <summary>Sends the same line to client hosts at once (all, or those of <paramref name="hosts"/>, 1-based) and reads every answer.</summary>
    public async Task<JsonObject[]> ClientsAsync(string line, TimeSpan timeout, IEnumerable<int>? hosts = null)
    {
        var targets = hosts is null ? [.. Clients] : hosts.Select(h => Clients[h - 1]).ToArray();
        await Task.WhenAll(targets.Select(c => c.WriteLineAsync(line)));
        return await Task.WhenAll(targets.Select(c => ReadJsonAsync(c, timeout)));
    }

    public ValueTask DisposeAsync() => Farm.DisposeAsync();

    private static async Task<JsonObject> ReadJsonAsync(WebFarmProcess process, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        string? line;
        try
        {
            line = await process.ReadLineAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The farm program on {process.Host.Namespace} did not answer within {timeout.TotalSeconds:0} s. Standard error: {process.StandardError}");
        }

        return line is not null && JsonNode.Parse(line) is JsonObject json
            ? json
            : throw new InvalidOperationException($"The farm program on {process.Host.Namespace} ended (exited: {process.HasExited}). Standard error: {process.StandardError}");
    }
}
