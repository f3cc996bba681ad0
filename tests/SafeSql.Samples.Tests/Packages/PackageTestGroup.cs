namespace SafeSql.Samples.Tests.Packages;

/// <summary>The package tests' collection: not run in parallel with the other tests of this assembly.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PackageTestGroup
{
    public const string Name = "Packages";
}
