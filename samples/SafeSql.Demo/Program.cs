using System.Globalization;
using SafeSql.Testing;

// `serve`: run the SafeSql loopback TDS server standalone until Ctrl+C, e.g.
//   dotnet run --project samples/SafeSql.Demo -- serve --port 14330 [--user sa] [--password SafeSql-Loopback-1]
if (args.Length > 0 && args[0] == "serve")
{
    return await ServeAsync(args[1..]);
}

Console.WriteLine("SafeSql demo: scenarios arrive with the demo issue.");
return 0;

static async Task<int> ServeAsync(string[] args)
{
    var options = new LoopbackSqlServerOptions();
    for (var i = 0; i < args.Length; i++)
    {
        var value = i + 1 < args.Length ? args[i + 1] : null;
        switch (args[i])
        {
            case "--port" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port <= 65535:
                options.Port = port;
                i++;
                break;
            case "--user" when value is not null:
                options.UserName = value;
                i++;
                break;
            case "--password" when value is not null:
                options.Password = value;
                i++;
                break;
            default:
                Console.Error.WriteLine($"serve: unknown or incomplete option '{args[i]}'. Usage: serve [--port N] [--user NAME] [--password PASSWORD]");
                return 2;
        }
    }

    await using var server = await LoopbackSqlServer.StartAsync(options);
    using var stop = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        stop.Cancel();
    };

    // The password printed is the loopback server's own development credential (configurable with --password);
    // the server listens on 127.0.0.1 only.
    Console.WriteLine($"SafeSql loopback TDS server listening on {server.EndPoint}. Press Ctrl+C to stop.");
    Console.WriteLine($"Connection string: {server.ConnectionString}");
    Console.WriteLine($"FreeTDS: TDSVER=7.4 tsql -H 127.0.0.1 -p {server.Port} -U {options.UserName} -P '<password>'");
    try
    {
        await Task.Delay(Timeout.Infinite, stop.Token);
    }
    catch (OperationCanceledException)
    {
    }

    var c = server.Counters;
    Console.WriteLine($"Stopped. {c.TcpConnectionsAccepted} connections, {c.Logins} logins, {c.Batches} batches, {c.Rpcs} RPCs, {c.Attentions} attentions.");
    return 0;
}
