using MusicGen.Engine.Backends;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Engine.Tensors;
using MusicGen.Engine.Text;
using MusicGen.Loaders;

namespace MusicGen.Engine.Generation;

/// <summary>
/// Text-to-music generation as MusicgenForConditionalGeneration.generate does it: encode the prompts, add the
/// null half of the classifier-free-guidance batch, then decode step by step in the delay pattern with the
/// KV cache, and finally undo the pattern and decode the codes to audio.
/// </summary>
public sealed class MusicgenGenerator
{
    /// <summary>The length MusicGen was trained on; longer requests need long-form generation.</summary>
    public const double MaxSeconds = 30;

    private readonly IBackend _backend;
    private readonly MusicgenForConditionalGeneration _model;
    private readonly T5Tokenizer _tokenizer;
    private readonly int _startTokenId;

    public MusicgenGenerator(IBackend backend, MusicgenForConditionalGeneration model, T5Tokenizer tokenizer, int? decoderStartTokenId)
    {
        _backend = backend;
        _model = model;
        _tokenizer = tokenizer;
        _startTokenId = decoderStartTokenId ?? model.Config.Decoder.BosTokenId;
    }

    private int ChannelCodebooks => _model.Config.Decoder.NumCodebooks / _model.Config.Decoder.AudioChannels;

    /// <summary>Decoder steps for a duration: one per frame, plus the delay of the last codebook.</summary>
    public int StepsFor(double seconds) => (int)Math.Round(seconds * _model.Config.AudioEncoder.FrameRate) + ChannelCodebooks - 1;

    /// <summary>The most steps a request may take: 30 s of frames, within the position table.</summary>
    public int MaxSteps => Math.Min(StepsFor(MaxSeconds), _model.Config.Decoder.MaxPositionEmbeddings);

    public GenerationResult Generate(GenerationRequest request, Action<int, int>? onStep = null)
    {
        var config = _model.Config.Decoder;
        if (request.MaxNewTokens < ChannelCodebooks)
            throw new MusicGenException($"{request.MaxNewTokens} decoding steps make no audio; the delay pattern needs at least {ChannelCodebooks}");
        if (request.MaxNewTokens > MaxSteps)
            throw new MusicGenException($"{request.MaxNewTokens} decoding steps asked, but this model generates at most {MaxSeconds:0.#} s ({MaxSteps} steps); longer pieces need long-form generation, which is not supported yet");
        if (request.Batch < 1) throw new MusicGenException("nothing to generate: no prompts and no unconditional samples");

        var sampling = request.Unconditional ? request.Sampling with { GuidanceScale = 1.0 } : request.Sampling;
        int batch = request.Batch, codebooks = config.NumCodebooks, rows = batch * codebooks;
        int decoderBatch = sampling.UsesGuidance ? 2 * batch : batch;
        int maxLength = 1 + request.MaxNewTokens;

        var startIds = Enumerable.Repeat(_startTokenId, rows).ToArray();
        var pattern = DelayPattern.Build(startIds, rows, codebooks, config.AudioChannels, maxLength, _startTokenId);
        var sequence = new int[rows * maxLength];
        var initial = pattern.StartIds();
        for (int r = 0; r < rows; r++)
            initial.AsSpan(r * pattern.StartLength, pattern.StartLength).CopyTo(sequence.AsSpan(r * maxLength));

        using var cache = StartDecoding(request, decoderBatch, maxLength);
        var sampler = new TokenSampler(sampling, config.VocabSize);
        int vocabularyWidth = codebooks * config.VocabSize;
        using var logits = _backend.Allocate(decoderBatch, vocabularyWidth);
        var hostLogits = new float[decoderBatch * vocabularyWidth];
        var next = new int[rows];
        var feed = new int[decoderBatch * codebooks * pattern.StartLength];

        int position = pattern.StartLength;
        FillFeed(sequence, maxLength, rows, 0, pattern.StartLength, feed);
        while (position < maxLength)
        {
            int tokens = feed.Length / (decoderBatch * codebooks);
            _model.Decoder.Forward(cache, feed, tokens, logits, lastOnly: true);
            _backend.Download(logits, hostLogits);
            sampler.Next(hostLogits, rows, next);
            for (int r = 0; r < rows; r++)
            {
                int forced = pattern.Forced(r, position);
                sequence[r * maxLength + position] = forced == -1 ? next[r] : forced;
            }
            position++;
            onStep?.Invoke(position - pattern.StartLength, maxLength - pattern.StartLength);
            if (position < maxLength)
            {
                if (feed.Length != decoderBatch * codebooks) feed = new int[decoderBatch * codebooks];
                FillFeed(sequence, maxLength, rows, position - 1, 1, feed);
            }
        }

        int[] codes = pattern.Revert(sequence, out int frames);
        return new GenerationResult(batch, codebooks, frames, codes, maxLength, sequence);
    }

    /// <summary>Decoder input [N, K, T] for positions [from, from + count): the sequence, repeated for the null half.</summary>
    private static void FillFeed(int[] sequence, int maxLength, int rows, int from, int count, int[] feed)
    {
        for (int half = 0; half < feed.Length / (rows * count); half++)
            for (int r = 0; r < rows; r++)
                sequence.AsSpan(r * maxLength + from, count).CopyTo(feed.AsSpan((half * rows + r) * count));
    }

    /// <summary>The conditioning: the encoded prompts and, with guidance, a null half of zeros and a zero mask.</summary>
    private DecoderCache StartDecoding(GenerationRequest request, int decoderBatch, int maxLength)
    {
        int textWidth = _model.Config.TextEncoder.DModel;
        if (request.Unconditional)
        {
            // get_unconditional_inputs: one zero state per sample, fully masked.
            using var zeros = _backend.Allocate(decoderBatch, 1, textWidth);
            return _model.StartDecoding(zeros, new float[decoderBatch], maxLength);
        }
        var tokens = _tokenizer.EncodeBatch(request.Prompts);
        int batch = tokens.BatchSize, length = tokens.Length;
        var ids = tokens.InputIds.Select(id => (int)id).ToArray();
        var mask = new float[decoderBatch * length];
        for (int i = 0; i < batch * length; i++) mask[i] = tokens.AttentionMask[i];
        using var encoded = _model.TextEncoder.Forward(ids, mask.AsSpan(0, batch * length), batch, length);
        using var states = _backend.Allocate(decoderBatch, length, textWidth);
        _backend.Copy(encoded, states.Slice(0, batch));
        return _model.StartDecoding(states, mask, maxLength);
    }

    /// <summary>Audio [Batch, channels, Frames · hop]: each channel's codebooks through the mono codec.</summary>
    public float[] DecodeAudio(GenerationResult result, out int channels, out int samples)
    {
        channels = _model.Config.Decoder.AudioChannels;
        int perChannel = result.Codebooks / channels, frames = result.Frames;
        var audio = Array.Empty<float>();
        samples = 0;
        for (int c = 0; c < channels; c++)
        {
            var codes = new int[result.Batch * perChannel * frames];
            for (int b = 0; b < result.Batch; b++)
                for (int k = 0; k < perChannel; k++)
                    result.Codes.AsSpan((b * result.Codebooks + k * channels + c) * frames, frames)
                        .CopyTo(codes.AsSpan((b * perChannel + k) * frames));
            using var decoded = _model.AudioEncoder.Decode(codes, result.Batch, perChannel, frames); // [B, 1, S]
            samples = decoded.Dim(2);
            if (audio.Length == 0) audio = new float[result.Batch * channels * samples];
            var host = decoded.ToArray();
            for (int b = 0; b < result.Batch; b++)
                host.AsSpan(b * samples, samples).CopyTo(audio.AsSpan((b * channels + c) * samples));
        }
        return audio;
    }
}
