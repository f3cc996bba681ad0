namespace SafeSql.Demo;

/// <summary>The command line of a demo run.</summary>
/// <param name="Json">Print the figures as JSON instead of tables (<c>--json</c>).</param>
/// <param name="ConnectionString">A real SQL Server to run the safe scenarios against (<c>--connection-string</c>); <see langword="null"/>: the loopback server.</param>
/// <param name="Scenario">Run only this scenario (<c>--scenario leak-loop</c>); <see langword="null"/>: every scenario but the
/// opt-in ones (<c>outage</c>).</param>
/// <param name="OutageSeconds">How long the server is down in the outage scenario (<c>--outage-seconds</c>, 5-600);
/// <see langword="null"/>: 60 s.</param>
internal sealed record DemoOptions(bool Json = false, string? ConnectionString = null, string? Scenario = null, int? OutageSeconds = null);
