namespace SafeSql.Samples.Tests.Demo;

/// <summary>The demo runs alone: its restart and burst scenarios measure time and TCP connections.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DemoProcessGroup
{
    public const string Name = "Demo process";
}
