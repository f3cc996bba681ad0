using BenchmarkDotNet.Running;

using SafeSql.Benchmarks;

// SafeSql's benchmarks, run from the repository root:
//   dotnet run -c Release --project benchmarks/SafeSql.Benchmarks -- --filter '*'          the record run (MemoryDiagnoser, job "Record")
//   dotnet run -c Release --project benchmarks/SafeSql.Benchmarks -- --smoke               every benchmark once, in process (CI)
//   dotnet run -c Release --project benchmarks/SafeSql.Benchmarks -- field-table           20,000 opens: TCP connections, segments, bytes
//   dotnet run -c Release --project benchmarks/SafeSql.Benchmarks -- alternating           SafeSql / raw open + dispose, alternating rounds, median ratio
//   dotnet run -c Release --project benchmarks/SafeSql.Benchmarks -- soak                  10,000,000 opens, 64 workers: heap, leaks
//   dotnet run -c Release --project benchmarks/SafeSql.Benchmarks -- diagnostics           the open path with the diagnostics endpoint read under a busy pool
// Every class has a raw SqlClient Baseline; judge by Ratio and Alloc Ratio. See benchmarks/README.md for the recorded results.
if (args is [FieldTableCommand.Name, .. var fieldTableArgs])
{
    return await FieldTableCommand.RunAsync(fieldTableArgs);
}

if (args is [AlternatingRatioCommand.Name, .. var alternatingArgs])
{
    return await AlternatingRatioCommand.RunAsync(alternatingArgs);
}

if (args is [DiagnosticsLoadCommand.Name, .. var diagnosticsArgs])
{
    return await DiagnosticsLoadCommand.RunAsync(diagnosticsArgs);
}

if (args is [SoakCommand.Name, .. var soakArgs])
{
    return await SoakCommand.RunAsync(soakArgs);
}

if (args.Contains(SmokeRun.Flag))
{
    return SmokeRun.Run([.. args.Where(a => a != SmokeRun.Flag)]);
}

var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, BenchmarkConfigs.Record(args));
return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
