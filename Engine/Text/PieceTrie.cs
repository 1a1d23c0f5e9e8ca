using System.Text;

namespace MusicGen.Engine.Text;

/// <summary>
/// A byte-wise trie over the UTF-8 spelling of pieces, walked one byte at a time so that every piece that is a
/// prefix of some text is found in order of increasing length.
/// </summary>
internal sealed class PieceTrie
{
    public const int Root = 0;

    // Node n's children are _labels[_firstChild[n] .. _firstChild[n + 1]) (sorted) and the same range of _children.
    private readonly int[] _firstChild;
    private readonly byte[] _labels;
    private readonly int[] _children;
    // The id of the piece spelled by the path to each node, or -1.
    private readonly int[] _values;

    public PieceTrie(IEnumerable<(string Text, int Id)> pieces)
    {
        var childMaps = new List<SortedList<byte, int>> { new() };
        var values = new List<int> { -1 };
        foreach (var (text, id) in pieces)
        {
            int node = Root;
            foreach (byte b in Encoding.UTF8.GetBytes(text))
            {
                if (!childMaps[node].TryGetValue(b, out int child))
                {
                    child = childMaps.Count;
                    childMaps.Add(new SortedList<byte, int>());
                    values.Add(-1);
                    childMaps[node].Add(b, child);
                }
                node = child;
            }
            values[node] = id;
        }

        _firstChild = new int[childMaps.Count + 1];
        for (int n = 0; n < childMaps.Count; n++) _firstChild[n + 1] = _firstChild[n] + childMaps[n].Count;
        _labels = new byte[_firstChild[^1]];
        _children = new int[_firstChild[^1]];
        for (int n = 0; n < childMaps.Count; n++)
        {
            childMaps[n].Keys.CopyTo(_labels, _firstChild[n]);
            childMaps[n].Values.CopyTo(_children, _firstChild[n]);
        }
        _values = values.ToArray();
    }

    /// <summary>The node reached from <paramref name="node"/> by <paramref name="label"/>, or -1 when there is none.</summary>
    public int Step(int node, byte label)
    {
        int first = _firstChild[node];
        int index = _labels.AsSpan(first, _firstChild[node + 1] - first).BinarySearch(label);
        return index < 0 ? -1 : _children[first + index];
    }

    /// <summary>The id of the piece that ends at <paramref name="node"/>, or -1.</summary>
    public int PieceAt(int node) => _values[node];

    /// <summary>Bytes in the longest piece that is a prefix of <paramref name="text"/>; 0 when none is.</summary>
    public int LongestPrefixLength(ReadOnlySpan<byte> text)
    {
        int longest = 0;
        int node = Root;
        for (int i = 0; i < text.Length && (node = Step(node, text[i])) >= 0; i++)
            if (_values[node] >= 0) longest = i + 1;
        return longest;
    }
}
