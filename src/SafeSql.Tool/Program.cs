// safesql: the SafeSql .NET tool. `dotnet tool install -g SafeSql.Tool`, then:
//
//   safesql check "<connection string>"                   the policy's verdict (exit 0 accepted, 2 refused)
//   safesql doctor "<connection string>" [--json]         the connection and this machine, checked (exit 0 / 1 / 2)
//   safesql serve [--port N]                              a loopback SQL Server for local development
using System.Globalization;

using SafeSql.Tool;

// Figures print the same everywhere (1,234.5 ms, never 1.234,5).
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
return await SafeSqlCommandLine.RunAsync(args, Console.Out, Console.Error, Console.IsOutputRedirected);
