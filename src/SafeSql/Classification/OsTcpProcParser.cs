using System.Buffers;
using System.Net;
using System.Net.Sockets;

namespace SafeSql;

/// <summary>
/// Counts sockets in the text of <c>/proc/net/tcp</c> or <c>/proc/net/tcp6</c> without allocating per line.
/// </summary>
/// <remarks>
/// Format (Linux net/ipv4/tcp_ipv4.c <c>get_tcp4_sock</c>, net/ipv6/tcp_ipv6.c <c>get_tcp6_sock</c>): after a header line,
/// one line per socket: <c>sl: local_address rem_address st ...</c>, where an address is the IPv4 address as one 32-bit
/// word (or the IPv6 address as four words) printed with <c>%08X</c> in host byte order, a colon, and the port as
/// <c>%04X</c>; <c>st</c> is the state in hex (01 ESTABLISHED ... 06 TIME_WAIT ... 0A LISTEN).
/// </remarks>
internal static class OsTcpProcParser
{
    internal const byte StateTimeWait = 0x06;
    internal const byte StateListen = 0x0A;

    private const int ChunkSize = 64 * 1024;

    /// <summary>The counts collected from one or more files.</summary>
    internal struct Counts
    {
        public int ConnectionsTowards;
        public int TimeWaitTowards;
        public int ConnectionsTotal;
        public int TimeWaitTotal;
    }

    /// <summary>
    /// Builds the text a remote address takes in <c>/proc/net/tcp</c> (8 hex digits) or <c>/proc/net/tcp6</c> (32 hex
    /// digits; an IPv4 address becomes IPv4-mapped). Returns an empty array for an unspecified address (any address).
    /// </summary>
    internal static byte[] EncodeAddress(IPAddress address, bool forTcp6)
    {
        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            return [];
        }

        if (!forTcp6)
        {
            if (address.AddressFamily != AddressFamily.InterNetwork)
            {
                if (!address.IsIPv4MappedToIPv6)
                {
                    return [];
                }

                address = address.MapToIPv4();
            }
        }
        else if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            address = address.MapToIPv6();
        }

        var bytes = address.GetAddressBytes();
        var text = new byte[bytes.Length * 2];
        for (var word = 0; word < bytes.Length / 4; word++)
        {
            // Each 32-bit word is printed as a host-order integer: on little-endian machines its bytes appear reversed.
            for (var i = 0; i < 4; i++)
            {
                var b = BitConverter.IsLittleEndian ? bytes[(word * 4) + 3 - i] : bytes[(word * 4) + i];
                text[(word * 8) + (i * 2)] = HexDigit(b >> 4);
                text[(word * 8) + (i * 2) + 1] = HexDigit(b & 0xF);
            }
        }

        return text;
    }

    /// <summary>Counts the sockets of one file's content (the whole text, header included).</summary>
    /// <param name="content">The file text.</param>
    /// <param name="remoteAddress">The encoded remote address (see <see cref="EncodeAddress"/>); empty for any address.</param>
    /// <param name="remotePort">The remote port; 0 for any port; -1 to count totals only.</param>
    /// <param name="counts">Accumulates the counts.</param>
    internal static void CountLines(ReadOnlySpan<byte> content, ReadOnlySpan<byte> remoteAddress, int remotePort, ref Counts counts)
    {
        while (!content.IsEmpty)
        {
            var newLine = content.IndexOf((byte)'\n');
            var line = newLine < 0 ? content : content[..newLine];
            CountLine(line, remoteAddress, remotePort, ref counts);
            content = newLine < 0 ? default : content[(newLine + 1)..];
        }
    }

    /// <summary>Reads a /proc file in chunks and counts its sockets. Returns <see langword="false"/> when the file cannot be read.</summary>
    internal static bool TryCountFile(string path, ReadOnlySpan<byte> remoteAddress, int remotePort, ref Counts counts)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 1);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return false;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            using (stream)
            {
                var filled = 0;
                while (true)
                {
                    var read = stream.Read(buffer, filled, buffer.Length - filled);
                    filled += read;
                    var data = buffer.AsSpan(0, filled);
                    var lastNewLine = data.LastIndexOf((byte)'\n');
                    if (read == 0)
                    {
                        CountLines(data, remoteAddress, remotePort, ref counts);
                        return true;
                    }

                    if (lastNewLine < 0)
                    {
                        if (filled == buffer.Length)
                        {
                            // A line longer than the buffer is not /proc/net/tcp: stop rather than misparse.
                            return false;
                        }

                        continue;
                    }

                    CountLines(data[..lastNewLine], remoteAddress, remotePort, ref counts);
                    var rest = data[(lastNewLine + 1)..];
                    rest.CopyTo(buffer);
                    filled = rest.Length;
                }
            }
        }
        catch (IOException)
        {
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void CountLine(ReadOnlySpan<byte> line, ReadOnlySpan<byte> remoteAddress, int remotePort, ref Counts counts)
    {
        // Tokens: [0] "sl:" [1] local_address [2] rem_address [3] st
        if (!NextToken(ref line, out var slot) || slot.IsEmpty || slot[^1] != (byte)':')
        {
            return; // header ("sl  local_address ...") or blank line
        }

        if (!NextToken(ref line, out _) || !NextToken(ref line, out var remote) || !NextToken(ref line, out var stateText))
        {
            return;
        }

        if (stateText.Length != 2 || !TryParseHex(stateText, out var state) || state == StateListen)
        {
            return;
        }

        counts.ConnectionsTotal++;
        var isTimeWait = state == StateTimeWait;
        if (isTimeWait)
        {
            counts.TimeWaitTotal++;
        }

        if (remotePort >= 0 && Matches(remote, remoteAddress, remotePort))
        {
            counts.ConnectionsTowards++;
            if (isTimeWait)
            {
                counts.TimeWaitTowards++;
            }
        }
    }

    private static bool Matches(ReadOnlySpan<byte> remote, ReadOnlySpan<byte> address, int port)
    {
        var colon = remote.IndexOf((byte)':');
        if (colon < 0)
        {
            return false;
        }

        if (!address.IsEmpty && !remote[..colon].SequenceEqual(address))
        {
            return false;
        }

        return port == 0 || (TryParseHex(remote[(colon + 1)..], out var remotePort) && remotePort == port);
    }

    private static bool NextToken(ref ReadOnlySpan<byte> line, out ReadOnlySpan<byte> token)
    {
        var start = 0;
        while (start < line.Length && line[start] is (byte)' ' or (byte)'\t' or (byte)'\r')
        {
            start++;
        }

        if (start == line.Length)
        {
            token = default;
            line = default;
            return false;
        }

        var end = start;
        while (end < line.Length && line[end] is not ((byte)' ' or (byte)'\t' or (byte)'\r'))
        {
            end++;
        }

        token = line[start..end];
        line = line[end..];
        return true;
    }

    private static bool TryParseHex(ReadOnlySpan<byte> text, out int value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > 7)
        {
            return false;
        }

        foreach (var c in text)
        {
            int digit = c switch
            {
                >= (byte)'0' and <= (byte)'9' => c - '0',
                >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
                >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
                _ => -1,
            };
            if (digit < 0)
            {
                return false;
            }

            value = (value << 4) | digit;
        }

        return true;
    }

    private static byte HexDigit(int value) => (byte)(value < 10 ? '0' + value : 'A' + value - 10);
}
