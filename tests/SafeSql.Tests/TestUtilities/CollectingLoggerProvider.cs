using System.Collections.Concurrent;

using Microsoft.Extensions.Logging;

namespace SafeSql.Tests.TestUtilities;

/// <summary>One log record as a test sees it: level, event id, rendered message, exception text.</summary>
public sealed record CollectedLog(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception, IReadOnlyList<KeyValuePair<string, object?>> State);

/// <summary>
/// Collects every log record written through it. (Microsoft.Extensions.Diagnostics.Testing's FakeLogger does not restore here.)
/// </summary>
public sealed class CollectingLoggerProvider : ILoggerProvider, ILoggerFactory
{
    private readonly ConcurrentQueue<CollectedLog> _records = new();

    public IReadOnlyList<CollectedLog> Records => [.. _records];

    public ILogger CreateLogger(string categoryName) => new CollectingLogger(this, categoryName);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class CollectingLogger(CollectingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var pairs = state as IReadOnlyList<KeyValuePair<string, object?>> ?? [];
            owner._records.Enqueue(new CollectedLog(category, logLevel, eventId, formatter(state, exception), exception, [.. pairs]));
        }
    }
}
