namespace MusicGen.Engine.Generation;

/// <summary>
/// Where each channel's codebooks sit among the decoder's codebook rows, and how far each is delayed. A stereo
/// MusicGen decoder predicts K = C · K' codebooks interleaved by channel (L0 R0 L1 R1 …): codebook k of channel c
/// is decoder codebook k · C + c, and runs k steps behind the first (the left and right codebooks of a depth share
/// a delay). This is the one place that knows it.
/// </summary>
/// <param name="Channels">Audio channels C (1 or 2).</param>
/// <param name="CodebooksPerChannel">Codebooks K' of each channel's codec.</param>
public readonly record struct CodebookLayout(int Channels, int CodebooksPerChannel)
{
    /// <summary>The decoder's codebooks, C · K'.</summary>
    public int Codebooks => Channels * CodebooksPerChannel;

    /// <summary>The decoder codebook of codebook <paramref name="codebook"/> of channel <paramref name="channel"/>.</summary>
    public int DecoderCodebook(int channel, int codebook) => codebook * Channels + channel;

    /// <summary>The steps decoder codebook <paramref name="decoderCodebook"/> runs behind the first: its depth within its channel.</summary>
    public int DelayOf(int decoderCodebook) => decoderCodebook / Channels;

    /// <summary>The delay of the most delayed codebooks, the last depth: the steps after a frame's first code until it is complete.</summary>
    public int MaxDelay => CodebooksPerChannel - 1;

    /// <summary>Decoding steps that make <paramref name="frames"/> new frames in the delay pattern: one per frame plus the last codebook's delay.</summary>
    public int StepsFor(int frames) => frames + MaxDelay;

    /// <summary>Decoder-ordered codes [B, K, F] to codes by channel [B, C, K', F].</summary>
    public int[] ToChannels(ReadOnlySpan<int> decoderCodes, int batch, int frames)
    {
        var byChannel = new int[decoderCodes.Length];
        for (int b = 0; b < batch; b++)
            for (int c = 0; c < Channels; c++)
                for (int k = 0; k < CodebooksPerChannel; k++)
                    decoderCodes.Slice(((b * Codebooks) + DecoderCodebook(c, k)) * frames, frames)
                        .CopyTo(byChannel.AsSpan(((b * Channels + c) * CodebooksPerChannel + k) * frames));
        return byChannel;
    }

    /// <summary>Codes by channel [B, C, K', F] to decoder order [B, K, F].</summary>
    public int[] ToDecoder(ReadOnlySpan<int> channelCodes, int batch, int frames)
    {
        var decoder = new int[channelCodes.Length];
        for (int b = 0; b < batch; b++)
            for (int c = 0; c < Channels; c++)
                for (int k = 0; k < CodebooksPerChannel; k++)
                    channelCodes.Slice(((b * Channels + c) * CodebooksPerChannel + k) * frames, frames)
                        .CopyTo(decoder.AsSpan(((b * Codebooks) + DecoderCodebook(c, k)) * frames));
        return decoder;
    }
}
