using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Reflection;

using Microsoft.Data.SqlClient;

using SafeSql.ConnectionStrings;

namespace SafeSql.Tool.Doctor;

/// <summary>
/// Runs the doctor's checks for one connection string, in this order: the policy; DNS (the endpoint the later steps and the
/// OS figures are about); the client's TCP figures, read before the doctor opens a socket of its own; TCP connect, PRELOGIN,
/// TLS and login, each timed and bounded by Connect Timeout, stopping at the first failure; the server side when the
/// server is on this machine; the pool settings against the server.
/// </summary>
internal sealed partial class DoctorRunner
{
    /// <summary>The longest a step may take when the string says Connect Timeout=0 (wait forever) or more than this.</summary>
    private static readonly TimeSpan s_longestStep = TimeSpan.FromSeconds(60);

    private readonly List<DoctorCheck> _checks = [];
    private readonly string _connectionString;
    private readonly bool _serverSide;
    private SqlConnectionStringBuilder? _builder;
    private SqlServerAddress _source;
    private IPEndPoint? _endPoint;
    private int? _serverMaxConnections;
    private string? _serverMaxConnectionsUnknown;

    private DoctorRunner(string connectionString, bool serverSide)
    {
        _connectionString = connectionString;
        _serverSide = serverSide;
    }

    /// <summary>Gets the Microsoft.Data.SqlClient version the tool runs on, such as <c>7.1.1</c>.</summary>
    public static string SqlClientVersion { get; } =
        typeof(SqlConnection).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "unknown";

    /// <summary>Runs every check. Never throws for a bad string or an unreachable server: those are findings.</summary>
    public static async Task<DoctorReport> RunAsync(string connectionString, bool serverSide)
    {
        var runner = new DoctorRunner(connectionString, serverSide);
        await runner.RunAsync().ConfigureAwait(false);
        var order = new[] { "policy", "endpoint", "client", "server", "pool" };
        var checks = runner._checks.OrderBy(c => Array.IndexOf(order, c.Area)).ToList(); // stable: steps keep their order
        return new DoctorReport(runner._builder?.DataSource, SqlClientVersion, checks);
    }

    private async Task RunAsync()
    {
        CheckPolicy();
        if (!TryParse())
        {
            return;
        }

        var addresses = await CheckDnsAsync().ConfigureAwait(false);
        _endPoint = addresses is null ? null : new IPEndPoint(PickAddress(addresses), _source.Port);
        CheckClientOs();
        if (_endPoint is not null && await CheckTcpConnectAsync().ConfigureAwait(false) && await CheckPreLoginAndTlsAsync().ConfigureAwait(false))
        {
            await CheckLoginAsync().ConfigureAwait(false);
        }

        CheckServerSide();
        CheckPool();
    }

    private void Add(string area, string id, DoctorStatus status, string summary, string why, string? fix, Dictionary<string, object?>? figures = null) =>
        _checks.Add(new DoctorCheck(area, id, status, summary, why, fix, figures ?? []));

    /// <summary>The policy's verdict, as <c>safesql check</c> gives it.</summary>
    private void CheckPolicy()
    {
        var result = SqlConnectionStringPolicy.Validate(_connectionString);
        if (result.Findings.Count == 0)
        {
            Add("policy", "policy", DoctorStatus.Ok, result.ToString(), "SafeSql's connection-string policy refuses the settings that fail under load (safesql check explains each rule).", null);
            return;
        }

        foreach (var finding in result.Findings)
        {
            Add(
                "policy",
                finding.RuleId,
                finding.Severity == SqlConnectionStringFindingSeverity.Error ? DoctorStatus.Problem : DoctorStatus.Warning,
                finding.Description,
                $"{finding.Reason} Source: {finding.Source}",
                finding.Fix,
                new() { ["ruleId"] = finding.RuleId, ["severity"] = finding.Severity.ToString() });
        }
    }

    /// <summary>Reads the string through SafeSql's front door (<see cref="SqlConnectionStringParser"/>), which reads it with
    /// SqlClient's own parser and lets none of SqlClient's exceptions (their messages can quote a value) escape; a string
    /// SqlClient refuses stops the doctor after the policy.</summary>
    private bool TryParse()
    {
        _builder = SqlConnectionStringParser.Parse(_connectionString).ReadWithSqlClient();
        if (_builder is null)
        {
            // The policy's finding (SAFESQL001/002) already says what is wrong, without echoing the string.
            Add("endpoint", "parse", DoctorStatus.Problem, "SqlClient cannot read this connection string, so nothing else was checked.", "An application with this string fails at its first open.", "Fix the findings of the policy above.");
            return false;
        }

        if (!SqlServerAddress.TryParse(_builder.DataSource, out _source))
        {
            Add("endpoint", "data-source", DoctorStatus.Problem, "The connection string has no usable Data Source (Server).", "SqlClient needs a server to connect to.", "Set Data Source=tcp:<host>,<port>.");
            return false;
        }

        if (!_source.IsTcp)
        {
            Add("endpoint", "data-source", DoctorStatus.Warning, $"Data Source '{_builder.DataSource}' is not TCP (named pipes or shared memory), so the endpoint and TCP checks were skipped.", "The doctor checks TCP endpoints, which is what SqlClient uses on Linux and in containers.", "Use Data Source=tcp:<host>,<port> to check the TCP path.");
            return false;
        }

        if (_source.Port == 0)
        {
            Add("endpoint", "data-source", DoctorStatus.Warning, $"Data Source '{_builder.DataSource}' names an instance without a port: SQL Browser (UDP 1434) picks the port, which the doctor does not query.", "Each new connection first asks SQL Browser; a firewall that blocks UDP 1434 makes every open fail.", "Name the port: Data Source=tcp:<host>,<port>.");
            return false;
        }

        return true;
    }

    /// <summary>Connect Timeout as the steps use it: at most 60 s, and 60 s for 0 (SqlClient's "wait forever").</summary>
    private TimeSpan StepTimeout =>
        _builder!.ConnectTimeout <= 0 || _builder.ConnectTimeout > s_longestStep.TotalSeconds ? s_longestStep : TimeSpan.FromSeconds(_builder.ConnectTimeout);

    private static string Milliseconds(Stopwatch clock) => Milliseconds(clock.Elapsed);

    private static string Milliseconds(TimeSpan elapsed) => elapsed.TotalMilliseconds.ToString("0.0", CultureInfo.InvariantCulture) + " ms";

    private static double Round(TimeSpan elapsed) => Math.Round(elapsed.TotalMilliseconds, 1);
}
