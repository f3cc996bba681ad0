using System.Collections.Concurrent;
using System.Diagnostics;

using Polly;
using Polly.Retry;
using Polly.Telemetry;

using SafeSql.Classification;
using SafeSql.Resilience;
using SafeSql.Tests.TestUtilities;

namespace SafeSql.Tests.Resilience;

/// <summary>One retry as Polly reported it: the attempt that failed, the delay chosen, and SafeSql's classification.</summary>
internal sealed record RecordedRetry(int AttemptNumber, TimeSpan Delay, SqlFailureKind? Kind);

/// <summary>Polly's telemetry hook (<see cref="ResiliencePipelineBuilderBase.TelemetryListener"/>): records every OnRetry event.</summary>
internal sealed class RetryRecorder : TelemetryListener
{
    private readonly ConcurrentQueue<RecordedRetry> _retries = new();

    public IReadOnlyList<RecordedRetry> Retries => [.. _retries];

    /// <summary>Called on every retry, before the delay (tests switch a fault off here).</summary>
    public Action<RecordedRetry>? OnRetry { get; set; }

    public override void Write<TResult, TArgs>(in TelemetryEventArguments<TResult, TArgs> args)
    {
        if (args.Arguments is OnRetryArguments<TResult> retry)
        {
            args.Context.Properties.TryGetValue(SqlRetryPolicy.FailureKey, out var failure);
            var recorded = new RecordedRetry(retry.AttemptNumber, retry.RetryDelay, failure?.Kind);
            _retries.Enqueue(recorded);
            OnRetry?.Invoke(recorded);
        }
    }

    /// <summary>A pipeline builder named like the factory's, on <paramref name="time"/>, reporting to this recorder.</summary>
    public ResiliencePipelineBuilder Builder(TimeProvider? time = null) =>
        new() { Name = "SafeSql", InstanceName = "tests", TimeProvider = time, TelemetryListener = this };

    public ResiliencePipelineBuilder<TResult> Builder<TResult>(TimeProvider? time = null) =>
        new() { Name = "SafeSql", InstanceName = "tests", TimeProvider = time, TelemetryListener = this };
}

/// <summary>Drives a pipeline waiting on a <see cref="ManualTimeProvider"/>.</summary>
internal static class ManualTime
{
    /// <summary>Waits (real time, bounded to 30 s) until something waits on <paramref name="time"/>: Polly's retry delay.</summary>
    public static async Task WaitForDelayAsync(ManualTimeProvider time, Task running)
    {
        var clock = Stopwatch.StartNew();
        while (time.ActiveTimerCount == 0)
        {
            if (running.IsCompleted)
            {
                await running; // surfaces the failure of an operation that ended instead of waiting
                throw new Xunit.Sdk.XunitException("The operation completed without waiting for a retry delay.");
            }

            if (clock.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new Xunit.Sdk.XunitException("No retry delay started within 30 s.");
            }

            await Task.Delay(10);
        }
    }

    /// <summary>Advances <paramref name="time"/> by <paramref name="step"/> whenever a delay waits, until <paramref name="running"/> ends (at most 50 steps).</summary>
    public static async Task RunToCompletionAsync(ManualTimeProvider time, Task running, TimeSpan step)
    {
        for (var i = 0; i < 50 && !running.IsCompleted; i++)
        {
            var clock = Stopwatch.StartNew();
            while (time.ActiveTimerCount == 0 && !running.IsCompleted && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(10);
            }

            time.Advance(step);
        }
    }

    /// <summary>Runs a synchronous pipeline execution on a thread of its own (it blocks on the manual clock).</summary>
    public static Task<T> OnOwnThread<T>(Func<T> action) =>
        Task.Factory.StartNew(action, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
}
