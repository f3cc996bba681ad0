using System.Buffers.Binary;
using System.Text;

namespace SafeSql.Testing.Tds;

/// <summary>A forward-only little-endian reader over a payload; throws <see cref="InvalidDataException"/> when it runs out.</summary>
internal ref struct SpanReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _pos;

    public SpanReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _pos = 0;
    }

    public readonly int Remaining => _data.Length - _pos;

    public readonly bool IsEmpty => _pos >= _data.Length;

    public readonly ReadOnlySpan<byte> Rest => _data[_pos..];

    public readonly byte PeekByte() => _data[_pos];

    public byte ReadByte() => ReadSpan(1)[0];

    public ushort ReadUInt16() => BinaryPrimitives.ReadUInt16LittleEndian(ReadSpan(2));

    public uint ReadUInt32() => BinaryPrimitives.ReadUInt32LittleEndian(ReadSpan(4));

    public ulong ReadUInt64() => BinaryPrimitives.ReadUInt64LittleEndian(ReadSpan(8));

    public byte[] ReadBytes(int count) => ReadSpan(count).ToArray();

    public string ReadUtf16(int chars) => Encoding.Unicode.GetString(ReadSpan(2 * chars));

    public void Skip(int count) => ReadSpan(count);

    public ReadOnlySpan<byte> ReadSpan(int count)
    {
        if (count < 0 || count > Remaining)
        {
            throw new InvalidDataException($"The TDS message ends after {_data.Length} bytes; {count} more were expected at offset {_pos}.");
        }

        var span = _data.Slice(_pos, count);
        _pos += count;
        return span;
    }
}
