using System.Diagnostics;

namespace SafeSql.Testing.Network;

/// <summary>Runs the commands of the network labs (<see cref="WebFarm"/>, <see cref="PrivateNetworkNamespace"/>): setup
/// scripts, support probes, reads of a namespace's <c>/proc</c>, and programs in a private namespace. A command that runs
/// past its timeout is killed with its children.</summary>
internal static class NetworkLabCommand
{
    /// <summary>The timeout of the labs' own commands (a setup script, a probe, a read of <c>/proc</c>): each takes
    /// milliseconds, so one that is still running after this hangs.</summary>
    internal static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Runs a command and waits for it synchronously, with the operating system's wait rather than a task's, for a
    /// <see cref="Lazy{T}"/>'s factory. Standard error is collected; standard output is not redirected.</summary>
    /// <param name="fileName">The program.</param>
    /// <param name="arguments">Its arguments.</param>
    /// <param name="timeout">How long it may run before it is killed.</param>
    /// <returns>How it ended.</returns>
    /// <exception cref="System.ComponentModel.Win32Exception">The program could not be started.</exception>
    internal static NetworkLabCommandResult Run(string fileName, IReadOnlyList<string> arguments, TimeSpan timeout)
    {
        using var process = Process.Start(CreateStartInfo(fileName, arguments, redirectOutput: false))!;
        var error = process.StandardError.ReadToEnd();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            return new NetworkLabCommandResult(-1, string.Empty, error, timeout);
        }

        return new NetworkLabCommandResult(process.ExitCode, string.Empty, error, null);
    }

    /// <summary>Runs a command and waits for it, collecting its standard output and error.</summary>
    /// <param name="fileName">The program.</param>
    /// <param name="arguments">Its arguments.</param>
    /// <param name="timeout">How long it may run before it is killed (the result then says so).</param>
    /// <param name="cancellationToken">Kills the command and throws.</param>
    /// <returns>How it ended.</returns>
    /// <exception cref="System.ComponentModel.Win32Exception">The program could not be started.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled (the command was killed).</exception>
    internal static async Task<NetworkLabCommandResult> RunAsync(string fileName, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var process = new Process { StartInfo = CreateStartInfo(fileName, arguments, redirectOutput: true) };
        process.Start();

        // Not canceled with the command: once it is killed its pipes close and the reads end.
        var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var error = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            timedOut = !cancellationToken.IsCancellationRequested;
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            if (!timedOut)
            {
                throw;
            }
        }

        return new NetworkLabCommandResult(
            timedOut ? -1 : process.ExitCode,
            await output.ConfigureAwait(false),
            await error.ConfigureAwait(false),
            timedOut ? timeout : null);
    }

    private static ProcessStartInfo CreateStartInfo(string fileName, IReadOnlyList<string> arguments, bool redirectOutput)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = redirectOutput,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        return startInfo;
    }
}
