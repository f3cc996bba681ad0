using Microsoft.Data.SqlClient;
using Microsoft.Extensions.Options;

using SafeSql.ConnectionStrings;
using SafeSql.Demo.Reporting;
using SafeSql.Demo.Running;

namespace SafeSql.Demo.Scenarios;

/// <summary>
/// Scenario 3, the connection-string hacks from the field: the settings teams add to make pool timeouts, port exhaustion or
/// certificate errors go away. Each hides the cause and makes the next outage (or the next breach) worse.
/// </summary>
internal static class Hacks
{
    public const string Id = "hacks";

    private static readonly string[] s_hacks =
    [
        "Pooling=false",          // "pool timeouts? turn the pool off"
        "Connection Lifetime=1",  // "stale connections? recycle them every second"
        "Connect Timeout=40000",  // "timeouts? wait longer"
        "Max Pool Size=40000",    // "pool exhausted? make it bigger"
        "TrustServerCertificate=True", // "certificate not trusted? trust any certificate"
    ];

    /// <summary>
    /// The policy as it judges a production server: the loopback server stands in for one, so TrustServerCertificate=True
    /// towards it is refused as it would be towards a remote server (by default loopback only gets a warning).
    /// </summary>
    private static readonly SqlConnectionStringPolicyOptions s_policy = new() { AllowTrustServerCertificateOnLoopback = false };

    public static async Task<ScenarioResult> RunAsync(DemoOptions options)
    {
        var raw = await RunRawAsync(options);
        var safeSql = await RunSafeSqlAsync(options);
        var refused = safeSql.Detail<int>("refused");
        return new ScenarioResult
        {
            Scenario = Id,
            Number = 3,
            Title = "The connection-string hacks from the field",
            Setup = $"Each hack is added to a good connection string: {string.Join(", ", s_hacks)}. Raw: open and run SELECT 1. "
                + "SafeSql: start the application with AddSafeSql; the local server stands in for a production server, so the policy judges "
                + "it as one (AllowTrustServerCertificateOnLoopback = false).",
            Raw = raw,
            SafeSql = safeSql,
            Notes = [.. safeSql.Detail<List<Dictionary<string, string>>>("refusals")!.Select(static r =>
                $"{r["hack"]} -> {r["ruleId"]}: {r["description"]} Why: {Text.FirstSentence(r["reason"])} Fix: {Text.FirstSentence(r["fix"])}")],
            Verdict = $"Raw SqlClient accepted all {raw.Opens} hacks without a word; SafeSql refused {refused} of {s_hacks.Length} at startup, each with its reason and fix.",
        };
    }

    // 3.1 Raw SqlClient: every hack is accepted and opens fine, so it ships.
    private static async Task<RunFigures> RunRawAsync(DemoOptions options)
    {
        await using var server = await DemoServer.StartAsync(options.ConnectionString);
        var recorder = new RunRecorder(server);
        foreach (var hack in s_hacks)
        {
            try
            {
                await using var connection = new SqlConnection(server.ConnectionString("SafeSql.Demo hacks raw", hack));
                await connection.OpenAsync();
                recorder.Opened();
                await using var command = new SqlCommand("SELECT 1", connection);
                await command.ExecuteScalarAsync();
            }
            catch (Exception ex)
            {
                recorder.Failed(ex);
            }
        }

        SqlConnection.ClearAllPools();
        return recorder.Finish(
            $"All {recorder.Opens} connection strings accepted: each opened and ran SELECT 1. Nothing says what they will cost under load.",
            new() { ["refused"] = 0 });
    }

    // 3.2 SafeSql: each hack stops the application at startup, naming the rule, the reason and the fix.
    private static async Task<RunFigures> RunSafeSqlAsync(DemoOptions options)
    {
        await using var server = await DemoServer.StartAsync(options.ConnectionString);
        var recorder = new RunRecorder(server);
        var refusals = new List<Dictionary<string, string>>();
        foreach (var hack in s_hacks)
        {
            var connectionString = server.ConnectionString("SafeSql.Demo hacks", hack);
            try
            {
                await using var app = await SafeSqlApp.StartAsync(connectionString, recorder, ConfigurePolicy); // started: not refused
            }
            catch (OptionsValidationException startupFailure)
            {
                // The same verdict, as structured findings: rule id, reason, fix (never the password).
                var finding = SqlConnectionStringPolicy.Validate(connectionString, s_policy).Errors.First();
                refusals.Add(new()
                {
                    ["hack"] = hack,
                    ["ruleId"] = finding.RuleId,
                    ["description"] = finding.Description,
                    ["reason"] = finding.Reason,
                    ["fix"] = finding.Fix,
                    ["startupError"] = startupFailure.Message,
                });
            }
        }

        return recorder.Finish(
            $"{refusals.Count} of {s_hacks.Length} refused at startup (OptionsValidationException): "
                + string.Join(", ", refusals.Select(static r => $"{r["hack"]} -> {r["ruleId"]}")) + ".",
            new() { ["refused"] = refusals.Count, ["refusals"] = refusals });
    }

    private static void ConfigurePolicy(SafeSqlOptions options) =>
        options.ConnectionStringPolicy.AllowTrustServerCertificateOnLoopback = s_policy.AllowTrustServerCertificateOnLoopback;
}
