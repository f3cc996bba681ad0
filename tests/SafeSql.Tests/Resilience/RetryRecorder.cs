using System.Collections.Concurrent;
using System.Threading.Channels;

using Microsoft.Extensions.Time.Testing;

using Polly;
using Polly.Retry;
using Polly.Telemetry;

namespace SafeSql.Tests.Resilience;

/// <summary>One retry as Polly reported it: the attempt that failed, the delay chosen, and SafeSql's classification.</summary>
internal sealed record RecordedRetry(int AttemptNumber, TimeSpan Delay, SqlFailureKind? Kind);

/// <summary>Polly's telemetry hook (<see cref="ResiliencePipelineBuilderBase.TelemetryListener"/>): records every OnRetry event.</summary>
internal sealed class RetryRecorder : TelemetryListener
{
    private readonly ConcurrentQueue<RecordedRetry> _retries = new();
    private readonly Channel<RecordedRetry> _announced = Channel.CreateUnbounded<RecordedRetry>();

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
            _announced.Writer.TryWrite(recorded);
            OnRetry?.Invoke(recorded);
        }
    }

    /// <summary>Waits for the next OnRetry event (Polly raises it before the retry delay starts) and returns its delay.</summary>
    public async Task<TimeSpan> NextRetryAsync(CancellationToken cancellationToken) => (await _announced.Reader.ReadAsync(cancellationToken)).Delay;

    /// <summary>A pipeline builder named like the factory's, on <paramref name="time"/>, reporting to this recorder.</summary>
    public ResiliencePipelineBuilder Builder(TimeProvider? time = null) =>
        new() { Name = "SafeSql", InstanceName = "tests", TimeProvider = time, TelemetryListener = this };

    public ResiliencePipelineBuilder<TResult> Builder<TResult>(TimeProvider? time = null) =>
        new() { Name = "SafeSql", InstanceName = "tests", TimeProvider = time, TelemetryListener = this };
}

/// <summary>
/// Drives an operation whose retry delays run on a <see cref="FakeTimeProvider"/>. The code under test announces each retry
/// (Polly's OnRetry, through <see cref="RetryRecorder"/> or the factory's "retrying" log record) with its delay; the clock
/// is then moved past that delay. Polly raises OnRetry just before it starts the delay's timer, so when the operation
/// shows no progress for a second of real time after a move, the clock is moved once more (the timer started after it).
/// </summary>
internal static class FakeTime
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_settle = TimeSpan.FromSeconds(1);

    /// <summary>Waits (real time, bounded to 30 s) for the next retry announcement; fails if <paramref name="running"/> ends first.</summary>
    public static async Task<TimeSpan> WaitForRetryAsync(Func<CancellationToken, Task<TimeSpan>> nextRetry, Task running)
    {
        using var deadline = new CancellationTokenSource(s_timeout);
        var retry = nextRetry(deadline.Token);
        if (await Task.WhenAny(retry, running) == running)
        {
            await running; // surfaces the failure of an operation that ended instead of retrying
            throw new Xunit.Sdk.XunitException("The operation completed without retrying.");
        }

        return await AwaitOrFailAsync(retry, "No retry was announced within 30 s.");
    }

    /// <summary>
    /// Moves the clock past each announced delay until <paramref name="running"/> ends (at most 30 s of real time).
    /// <paramref name="pending"/> is a delay already announced and not yet waited out.
    /// </summary>
    public static async Task RunToCompletionAsync(FakeTimeProvider time, Task running, Func<CancellationToken, Task<TimeSpan>> nextRetry, TimeSpan? pending = null)
    {
        using var deadline = new CancellationTokenSource(s_timeout);
        var retry = nextRetry(deadline.Token);
        if (pending is { } first)
        {
            time.Advance(first);
        }

        while (!running.IsCompleted)
        {
            var settle = Task.Delay(pending is null ? Timeout.InfiniteTimeSpan : s_settle, deadline.Token);
            var progress = await Task.WhenAny(running, retry, settle);
            if (deadline.IsCancellationRequested)
            {
                throw new Xunit.Sdk.XunitException("The operation neither retried nor completed within 30 s.");
            }

            if (progress == retry)
            {
                pending = await retry;
                time.Advance(pending.Value);
                retry = nextRetry(deadline.Token);
            }
            else if (progress == settle && pending is { } delay)
            {
                time.Advance(delay); // the delay's timer started after the previous move
            }
        }
    }

    /// <summary>Runs a synchronous pipeline execution on a thread of its own (it blocks on the fake clock).</summary>
    public static Task<T> OnOwnThread<T>(Func<T> action) =>
        Task.Factory.StartNew(action, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static async Task<TimeSpan> AwaitOrFailAsync(Task<TimeSpan> retry, string message)
    {
        try
        {
            return await retry;
        }
        catch (OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException(message);
        }
    }
}
