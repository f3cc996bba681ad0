using System.Reflection;

using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace SafeSql.Benchmarks;

/// <summary>
/// <c>--smoke</c>: runs every benchmark of this assembly once, in process (<see cref="BenchmarkConfigs.Smoke"/>), and reports per
/// class whether every benchmark executed. The last lines are machine-readable, for CI and
/// <c>BenchmarkSmokeTests</c>:
/// <code>
/// smoke: class ThroughputBenchmark ok 9/9
/// smoke: class PolicyBenchmark FAILED 2/3: Validate_Refused
/// smoke: 7 classes, 42 benchmarks, 1 failed
/// </code>
/// The exit code is 0 only when every benchmark class found by reflection ran and every benchmark succeeded.
/// Usage: <c>dotnet run -c Release --project benchmarks/SafeSql.Benchmarks -- --smoke [--filter PATTERN]</c>.
/// </summary>
internal static class SmokeRun
{
    public const string Flag = "--smoke";

    public static int Run(string[] args)
    {
        var filtered = args.Contains("--filter");
        string[] arguments = filtered ? args : [.. args, "--filter", "*"];
        var artifacts = Path.Combine(Path.GetTempPath(), "SafeSql.Benchmarks.Smoke", Guid.NewGuid().ToString("N"));
        Summary[] summaries;
        try
        {
            summaries = [.. BenchmarkSwitcher.FromAssembly(typeof(SmokeRun).Assembly).Run(arguments, BenchmarkConfigs.Smoke(artifacts))];
        }
        finally
        {
            TryDelete(artifacts);
        }

        // Every class with a [Benchmark] method must have run, unless a filter chose some.
        var expected = filtered
            ? []
            : typeof(SmokeRun).Assembly.GetTypes()
                .Where(t => t is { IsPublic: true, IsAbstract: false } && t.GetMethods().Any(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null))
                .Select(t => t.Name)
                .ToHashSet(StringComparer.Ordinal);

        var results = new SortedDictionary<string, (int Total, List<string> Failed)>(StringComparer.Ordinal);
        foreach (var summary in summaries)
        {
            foreach (var benchmark in summary.BenchmarksCases)
            {
                var name = benchmark.Descriptor.Type.Name;
                if (!results.TryGetValue(name, out var result))
                {
                    result = (0, []);
                }

                var report = summary[benchmark];
                var ok = !summary.HasCriticalValidationErrors
                    && report is { Success: true }
                    && report.ExecuteResults.Count > 0
                    && report.ExecuteResults.All(r => r.IsSuccess)
                    && report.GetResultRuns().Any();
                if (!ok)
                {
                    result.Failed.Add(benchmark.Descriptor.WorkloadMethod.Name + ParameterText(benchmark));
                }

                results[name] = (result.Total + 1, result.Failed);
            }
        }

        foreach (var missing in expected.Where(e => !results.ContainsKey(e)))
        {
            results[missing] = (0, ["did not run (no summary: see the validation errors above)"]);
        }

        var failed = 0;
        foreach (var (name, (total, failures)) in results)
        {
            failed += failures.Count;
            Console.WriteLine(failures.Count == 0
                ? $"smoke: class {name} ok {total}/{total}"
                : $"smoke: class {name} FAILED {total - failures.Count}/{total}: {string.Join(", ", failures)}");
        }

        var benchmarks = results.Values.Sum(r => r.Total);
        Console.WriteLine($"smoke: {results.Count} classes, {benchmarks} benchmarks, {failed} failed");
        return failed == 0 && results.Count > 0 && !summaries.Any(s => s.HasCriticalValidationErrors) ? 0 : 1;
    }

    private static string ParameterText(BenchmarkCase benchmark) =>
        benchmark.HasParameters ? $"({benchmark.Parameters.DisplayInfo})" : string.Empty;

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
            // A leftover temporary directory is harmless.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
