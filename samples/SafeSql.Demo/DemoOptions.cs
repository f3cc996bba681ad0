namespace SafeSql.Demo;

/// <summary>The command line of a demo run.</summary>
/// <param name="Json">Print the figures as JSON instead of tables (<c>--json</c>).</param>
/// <param name="ConnectionString">A real SQL Server to run the safe scenarios against (<c>--connection-string</c>); <see langword="null"/>: the loopback server.</param>
/// <param name="Scenario">Run only this scenario (<c>--scenario leak-loop</c>); <see langword="null"/>: all four.</param>
internal sealed record DemoOptions(bool Json = false, string? ConnectionString = null, string? Scenario = null);
