using System.Buffers.Binary;

namespace SafeSql.Tool.Tds;

/// <summary>
/// The transport under the client's <see cref="System.Net.Security.SslStream"/> for TDS 7.x encryption: the TLS handshake
/// travels inside TDS PRELOGIN packets (MS-TDS 2.2.6.5, "this message stream is also used to wrap the SSL handshake
/// payload"), type 0x12, at most 4,096 bytes each, end-of-message on the last packet of each flight. The doctor only
/// shakes hands and hangs up, so it never switches to raw TLS records.
/// </summary>
internal sealed class PreLoginTlsStream(Stream inner) : Stream
{
    private const int MaxPacket = 4096;

    private int _packetRemaining;
    private byte _packetId;

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_packetRemaining == 0)
        {
            var header = new byte[PreLoginClient.HeaderLength];
            if (!await PreLoginClient.ReadExactlyOrEndAsync(inner, header, cancellationToken).ConfigureAwait(false))
            {
                return 0;
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(2));
            if (length < PreLoginClient.HeaderLength)
            {
                throw new InvalidDataException($"The server sent an invalid TDS packet length ({length}) during the TLS handshake.");
            }

            _packetRemaining = length - PreLoginClient.HeaderLength;
        }

        var n = await inner.ReadAsync(buffer[..Math.Min(buffer.Length, _packetRemaining)], cancellationToken).ConfigureAwait(false);
        _packetRemaining -= n;
        return n;
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (!buffer.IsEmpty)
        {
            var n = Math.Min(MaxPacket - PreLoginClient.HeaderLength, buffer.Length);
            var last = n == buffer.Length;
            var packet = new byte[n + PreLoginClient.HeaderLength];
            PreLoginClient.WriteHeader(packet, last, ++_packetId);
            buffer.Span[..n].CopyTo(packet.AsSpan(PreLoginClient.HeaderLength));
            await inner.WriteAsync(packet, cancellationToken).ConfigureAwait(false);
            buffer = buffer[n..];
            if (last)
            {
                _packetId = 0;
            }
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // SslStream is driven asynchronously only; Stream requires the synchronous members.
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
