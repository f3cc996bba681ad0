using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Threading.Channels;

namespace SafeSql.Testing.Network;

/// <summary>A program running on a host of a <see cref="WebFarm"/> (<see cref="WebFarm.StartProcess"/>): write lines to its
/// standard input, read its standard output line by line; standard error is collected.</summary>
/// <remarks>The process is killed (with its children) after <see cref="WebFarmOptions.ProcessTimeout"/>, by
/// <see cref="DisposeAsync"/> and by the farm's own dispose. A program meant for the farm should exit when its standard input
/// ends, so that it never outlives a test host that was killed.</remarks>
[Experimental(NetworkLabDiagnostics.ExperimentalId, UrlFormat = NetworkLabDiagnostics.ExperimentalUrl)]
public sealed class WebFarmProcess : IAsyncDisposable
{
    private const int MaxErrorChars = 64 * 1024;
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly StringBuilder _error = new();
    private readonly CancellationTokenSource _lifetime;
    private readonly Task _watchdog;
    private int _disposed;

    internal WebFarmProcess(WebFarmHost host, ProcessStartInfo startInfo, TimeSpan timeout)
    {
        Host = host;
        _process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                _lines.Writer.TryComplete();
            }
            else
            {
                _lines.Writer.TryWrite(e.Data);
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_error)
                {
                    if (_error.Length < MaxErrorChars)
                    {
                        _error.AppendLine(e.Data);
                    }
                }
            }
        };
        _process.Start();
        Id = _process.Id;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        _lifetime = new CancellationTokenSource(timeout);
        _watchdog = KillWhenCanceledAsync(_lifetime.Token);
    }

    /// <summary>Gets the host the process runs on.</summary>
    public WebFarmHost Host { get; }

    /// <summary>Gets the process id (of the program itself: <c>ip netns exec</c> execs it).</summary>
    public int Id { get; }

    /// <summary>Gets a value indicating whether the process has exited (always <see langword="true"/> once disposed).</summary>
    public bool HasExited => Volatile.Read(ref _disposed) == 1 || _process.HasExited;

    /// <summary>Gets what the process wrote to standard error so far (the first 64 KiB).</summary>
    public string StandardError
    {
        get
        {
            lock (_error)
            {
                return _error.ToString();
            }
        }
    }

    /// <summary>Writes one line to the process's standard input.</summary>
    /// <param name="line">The line, without the newline.</param>
    /// <returns>A task that completes when the line was flushed.</returns>
    /// <exception cref="IOException">The process has exited (its standard input is closed).</exception>
    public async Task WriteLineAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line).ConfigureAwait(false);
        await _process.StandardInput.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>Reads the next line the process wrote to standard output.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The line, or <see langword="null"/> when the output ended (the process exited).</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled.</exception>
    public async Task<string?> ReadLineAsync(CancellationToken cancellationToken = default) =>
        await _lines.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false) && _lines.Reader.TryRead(out var line) ? line : null;

    /// <summary>Closes standard input (a farm program then exits) and waits for the process to exit.</summary>
    /// <param name="cancellationToken">Stops waiting; the process keeps running until disposed.</param>
    /// <returns>The exit code.</returns>
    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
            // Already gone.
        }

        await _process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        return _process.ExitCode;
    }

    /// <summary>Kills the process (and its children) if it still runs and waits for it to exit. Safe to call more than once.</summary>
    /// <returns>A task that completes when the process has exited.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            await _watchdog.ConfigureAwait(false);
            return;
        }

        await _lifetime.CancelAsync().ConfigureAwait(false);
        await _watchdog.ConfigureAwait(false);
        _lifetime.Dispose();
        _process.Dispose();
    }

    private async Task KillWhenCanceledAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try
            {
                _process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Exited meanwhile.
            }

            await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }
}
