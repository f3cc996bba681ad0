using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.NoEmit;

namespace SafeSql.Benchmarks;

/// <summary>The two ways the benchmarks run: the record run and the CI smoke run.</summary>
internal static class BenchmarkConfigs
{
    /// <summary>The id of the record job, shown in every report.</summary>
    public const string RecordJobId = "Record";

    /// <summary>
    /// The record run: MemoryDiagnoser and an Op/s column on everything, one launch, 3 warmup and 10 measured iterations (a
    /// ShortRun-like job: ~0.5 s iterations sized by BenchmarkDotNet's pilot, but 10 iterations instead of ShortRun's 3, so the
    /// error bars mean something) unless the command line names its own job (<c>--job</c>).
    /// </summary>
    public static IConfig Record(IReadOnlyCollection<string> args)
    {
        var config = DefaultConfig.Instance
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddColumn(StatisticColumn.OperationsPerSecond);
        return args.Contains("--job") || args.Contains("-j")
            ? config
            : config.AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(10).WithId(RecordJobId));
    }

    /// <summary>
    /// The smoke run: every benchmark once (<see cref="Job.Dry"/>: one launch, one iteration of one invocation, no pilot), in
    /// this process (<see cref="InProcessNoEmitToolchain"/>, no project generation or build), with MemoryDiagnoser, artifacts in
    /// <paramref name="artifactsPath"/>. It proves that each benchmark executes; its times mean nothing. The benchmark's output
    /// is logged, so a failure shows its exception.
    /// </summary>
    /// <remarks>
    /// Not <c>InProcessEmitToolchain</c>: in BenchmarkDotNet 0.14 it does not await an async <c>[GlobalSetup]</c>
    /// (dotnet/BenchmarkDotNet#1738), so a class with one (LoopbackServerBenchmark) fails with a NullReferenceException in process
    /// while it runs fine out of process. The no-emit toolchain awaits it.
    /// </remarks>
    public static IConfig Smoke(string artifactsPath) =>
        ManualConfig.CreateMinimumViable()
            .AddJob(Job.Dry.WithToolchain(new InProcessNoEmitToolchain(TimeSpan.FromMinutes(2), logOutput: true)).WithId("Smoke"))
            .AddDiagnoser(MemoryDiagnoser.Default)
            .WithArtifactsPath(artifactsPath)
            .WithOptions(ConfigOptions.DisableLogFile | ConfigOptions.JoinSummary);
}
