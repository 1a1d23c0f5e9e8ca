using MusicGen.Engine.Audio;
using MusicGen.Engine.Backends;
using MusicGen.Engine.Codec;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Engine.Tensors;
using MusicGen.Engine.Text;
using MusicGen.Loaders;

namespace MusicGen.Engine.Generation;

/// <summary>
/// Generation as MusicgenForConditionalGeneration.generate (and its melody twin) does it: encode the prompts,
/// condition the decoder (with the null half of classifier-free guidance), start from the decoder start token
/// or the codes of an audio prompt, decode step by step in the delay pattern with the KV cache, then undo the
/// pattern and decode the codes to audio.
/// </summary>
public sealed class MusicgenGenerator
{
    /// <summary>The length MusicGen was trained on; longer requests need long-form generation.</summary>
    public const double MaxSeconds = 30;

    /// <summary>The most tokens a prompt may have: the T5 tokenizer's model_max_length in MusicGen checkpoints.</summary>
    public const int MaxPromptTokens = 512;

    private readonly IBackend _backend;
    private readonly IMusicgenModel _model;
    private readonly T5Tokenizer _tokenizer;
    private readonly int _startTokenId;

    public MusicgenGenerator(IBackend backend, IMusicgenModel model, T5Tokenizer tokenizer, int? decoderStartTokenId)
    {
        _backend = backend;
        _model = model;
        _tokenizer = tokenizer;
        _startTokenId = decoderStartTokenId ?? model.Config.Decoder.BosTokenId;
    }

    private int Codebooks => _model.Config.Decoder.NumCodebooks;
    private int AudioChannels => _model.Config.Decoder.AudioChannels;
    private int ChannelCodebooks => Codebooks / AudioChannels;

    /// <summary>Decoder steps for a duration: one per frame, plus the delay of the last codebook.</summary>
    public int StepsFor(double seconds) => (int)Math.Round(seconds * _model.Config.AudioEncoder.FrameRate) + ChannelCodebooks - 1;

    /// <summary>The most positions a generation may span (prompt included): 30 s of frames, within the position table.</summary>
    public int MaxSteps => Math.Min(StepsFor(MaxSeconds), _model.Config.Decoder.MaxPositionEmbeddings - _model.ConditioningPositions);

    /// <summary>How the decoder's codebooks belong to the audio channels.</summary>
    public CodebookLayout Layout => new(AudioChannels, ChannelCodebooks);

    /// <summary>
    /// Generates, reporting each decoding step to progress; cancellation stops at the next step (throwing
    /// <see cref="OperationCanceledException"/>) and releases the cache. onFrames hears the codes of frames [first,
    /// first + n) as soon as every codebook has them (the prompt's frames included), so that they can be decoded
    /// while generation goes on.
    /// </summary>
    public GenerationResult Generate(GenerationRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellation = default,
        FramesHandler? onFrames = null)
    {
        var config = _model.Config.Decoder;
        var sampling = request.Unconditional ? request.Sampling with { GuidanceScale = 1.0 } : request.Sampling;
        int batch = request.Batch, codebooks = Codebooks, rows = batch * codebooks;
        if (batch < 1) throw new MusicGenException("nothing to generate: no prompts and no unconditional samples");
        Validate(request, PromptFrames(request));
        cancellation.ThrowIfCancellationRequested();
        var promptIds = PromptIds(request, out int promptFrames);

        int maxLength = promptIds.Length / rows + request.MaxNewTokens;
        var pattern = DelayPattern.Build(promptIds, rows, codebooks, config.AudioChannels, maxLength, _startTokenId);
        var sequence = new int[rows * maxLength];
        var initial = pattern.StartIds();
        for (int r = 0; r < rows; r++)
            initial.AsSpan(r * pattern.StartLength, pattern.StartLength).CopyTo(sequence.AsSpan(r * maxLength));

        int decoderBatch = sampling.UsesGuidance ? 2 * batch : batch;
        using var cache = StartDecoding(request, sampling.UsesGuidance, maxLength);
        var sampler = new TokenSampler(sampling, config.VocabSize);
        int vocabularyWidth = codebooks * config.VocabSize;
        using var logits = _backend.Allocate(decoderBatch, vocabularyWidth);
        var hostLogits = new float[decoderBatch * vocabularyWidth];
        var next = new int[rows];
        var feed = new int[decoderBatch * codebooks * pattern.StartLength];
        FillFeed(sequence, maxLength, rows, 0, pattern.StartLength, feed);
        var completed = onFrames is null ? null : new CompletedFrames(pattern, sequence, Layout, onFrames);
        int total = maxLength - pattern.StartLength;
        var clock = System.Diagnostics.Stopwatch.StartNew();

        for (int position = pattern.StartLength; position < maxLength; position++)
        {
            cancellation.ThrowIfCancellationRequested();
            int tokens = feed.Length / (decoderBatch * codebooks);
            _model.Decoder.Forward(cache, feed, tokens, logits, lastOnly: true);
            _backend.Download(logits, hostLogits);
            FiniteCheck.Require(hostLogits, "the decoder's logits (the checkpoint's weights may hold NaN or infinity)");
            sampler.Next(hostLogits, rows, next);
            for (int r = 0; r < rows; r++)
            {
                int forced = pattern.Forced(r, position);
                sequence[r * maxLength + position] = forced == -1 ? next[r] : forced;
            }
            completed?.After(position);
            int done = position + 1 - pattern.StartLength;
            progress?.Report(new GenerationProgress(done, total, done / Math.Max(clock.Elapsed.TotalSeconds, 1e-9)));
            if (tokens != 1) feed = new int[decoderBatch * codebooks];
            FillFeed(sequence, maxLength, rows, position, 1, feed);
        }

        int[] codes = pattern.Revert(sequence, out int frames); // [B, K, F]
        var byChannel = new CodesBatch(batch, AudioChannels, ChannelCodebooks, frames, Layout.ToChannels(codes, batch, frames));
        completed?.Finish(byChannel);
        return new GenerationResult(byChannel, promptFrames, maxLength, sequence);
    }

    /// <summary>Frames the prompt codes (or the audio prompt once encoded) take.</summary>
    private int PromptFrames(GenerationRequest request)
    {
        int hop = _model.Config.AudioEncoder.HopLength;
        return request.PromptCodes?.Frames ?? (request.AudioPrompt is { } audio ? (audio.Length + hop - 1) / hop : 0);
    }

    private void Validate(GenerationRequest request, int promptFrames)
    {
        if (request.MaxNewTokens < 1) throw new MusicGenException("at least one decoding step is needed");
        if (promptFrames + request.MaxNewTokens > MaxSteps)
            throw new MusicGenException(promptFrames > 0
                ? $"the audio prompt ({promptFrames / (double)_model.Config.AudioEncoder.FrameRate:0.00} s) and {request.MaxNewTokens} new steps make {promptFrames + request.MaxNewTokens} steps, but this model generates at most {MaxSeconds:0.#} s ({MaxSteps} steps), prompt included"
                : $"{request.MaxNewTokens} decoding steps asked, but this model generates at most {MaxSeconds:0.#} s ({MaxSteps} steps) at a time; longer pieces are generated window by window from a duration");
        if (request.Melody is { } melody && (melody.Batch != request.Batch || melody.Bins != _model.Config.NumChroma))
            throw new MusicGenException($"the melody chroma is [{melody.Batch}, {melody.Frames}, {melody.Bins}] for {request.Batch} item(s) and {_model.Config.NumChroma} chroma bins");
    }

    /// <summary>
    /// Decoder input before generation, [B·K, 1 + P]: the start token, then the codes of the prompt if any (given,
    /// or encoded from the audio prompt), in the decoder's codebook order.
    /// </summary>
    private int[] PromptIds(GenerationRequest request, out int promptFrames)
    {
        int batch = request.Batch, rows = batch * Codebooks;
        promptFrames = 0;
        if (request.AudioPrompt is null && request.PromptCodes is null) return Enumerable.Repeat(_startTokenId, rows).ToArray();
        // Prompt codes are how a long-form window continues the last one, for melody models too (as in audiocraft).
        if (!_model.AcceptsAudioPrompts && request.AudioPrompt is not null)
            throw new MusicGenException("audio-prompt continuation is not available for melody checkpoints (as in the reference); use a text-to-music checkpoint");
        if (request.AudioPrompt is not null && request.PromptCodes is not null) throw new MusicGenException("give an audio prompt or prompt codes, not both");
        if (request.AudioPrompt is { } audio && audio.Batch != batch) throw new MusicGenException($"{audio.Batch} audio prompts for {batch} item(s)");
        var codes = request.PromptCodes ?? EncodePrompt(request.AudioPrompt!);
        if (codes.Batch != batch || codes.Channels != AudioChannels || codes.Codebooks != ChannelCodebooks)
            throw new MusicGenException($"prompt codes [{string.Join(", ", codes.Shape)}] do not fit {batch} item(s) of {AudioChannels} channel(s) × {ChannelCodebooks} codebooks");
        promptFrames = codes.Frames;
        var decoderOrder = Layout.ToDecoder(codes.Values, batch, promptFrames); // [B, K, P]
        var ids = new int[rows * (1 + promptFrames)];
        for (int row = 0; row < rows; row++)
        {
            ids[row * (1 + promptFrames)] = _startTokenId;
            decoderOrder.AsSpan(row * promptFrames, promptFrames).CopyTo(ids.AsSpan(row * (1 + promptFrames) + 1));
        }
        return ids;
    }

    /// <summary>
    /// The codes [B, C, K', F] of an audio prompt: a stereo model codes each channel with its mono codec.
    /// </summary>
    public CodesBatch EncodePrompt(AudioPrompt prompt)
    {
        if (prompt.Channels != AudioChannels)
            throw new MusicGenException($"the audio prompt has {prompt.Channels} channel(s), the model generates {AudioChannels}");
        if (prompt.Length < _model.Config.AudioEncoder.HopLength)
            throw new MusicGenException($"the audio prompt is {prompt.Length} samples, shorter than one codec frame ({_model.Config.AudioEncoder.HopLength} samples)");
        int perChannel = ChannelCodebooks, frames = 0;
        int[]? byChannel = null;
        for (int c = 0; c < AudioChannels; c++)
        {
            var channel = new float[prompt.Batch * prompt.Length];
            for (int b = 0; b < prompt.Batch; b++)
                prompt.Samples.AsSpan((b * AudioChannels + c) * prompt.Length, prompt.Length).CopyTo(channel.AsSpan(b * prompt.Length));
            using var audio = _backend.Upload(channel, prompt.Batch, 1, prompt.Length);
            int[] codes = _model.AudioEncoder.Encode(audio, perChannel); // [B, K', F]
            frames = codes.Length / (prompt.Batch * perChannel);
            byChannel ??= new int[prompt.Batch * AudioChannels * perChannel * frames];
            for (int b = 0; b < prompt.Batch; b++)
                codes.AsSpan(b * perChannel * frames, perChannel * frames).CopyTo(byChannel.AsSpan((b * AudioChannels + c) * perChannel * frames));
        }
        return new CodesBatch(prompt.Batch, AudioChannels, perChannel, frames, byChannel!);
    }

    /// <summary>Decoder input [N, K, T] for positions [from, from + count): the sequence, repeated for the null half.</summary>
    private static void FillFeed(int[] sequence, int maxLength, int rows, int from, int count, int[] feed)
    {
        for (int half = 0; half < feed.Length / (rows * count); half++)
            for (int r = 0; r < rows; r++)
                sequence.AsSpan(r * maxLength + from, count).CopyTo(feed.AsSpan((half * rows + r) * count));
    }

    /// <summary>The conditioning: the encoded prompts (none when unconditional) and the melody's chroma, if any.</summary>
    private DecoderCache StartDecoding(GenerationRequest request, bool guidance, int maxLength)
    {
        int batch = request.Batch;
        int[]? chroma = request.Melody?.OneHot;
        int chromaFrames = request.Melody?.Frames ?? 0;
        if (request.Unconditional)
            return _model.StartDecoding(new MusicgenConditioning(batch, null, [], chroma, chromaFrames, guidance), maxLength);
        var tokens = _tokenizer.EncodeBatch(request.Prompts);
        for (int b = 0; b < tokens.BatchSize; b++)
        {
            long count = tokens.AttentionMask.AsSpan(b * tokens.Length, tokens.Length).ToArray().Sum();
            if (count > MaxPromptTokens)
                throw new MusicGenException($"prompt {b + 1} is {count} tokens long; the text encoder takes at most {MaxPromptTokens}");
        }
        var ids = tokens.InputIds.Select(id => (int)id).ToArray();
        var mask = tokens.AttentionMask.Select(m => (float)m).ToArray();
        using var text = _model.TextEncoder.Forward(ids, mask, tokens.BatchSize, tokens.Length);
        return _model.StartDecoding(new MusicgenConditioning(batch, text, mask, chroma, chromaFrames, guidance), maxLength);
    }

    /// <summary>
    /// Codes longer than this many frames (5 s at 50 frames/s) are decoded in pieces of as many frames: the
    /// codec's activations then stay about 250 MB, where a whole 30 s decode holds over a gigabyte.
    /// </summary>
    private const int DecodePieceFrames = 250;

    /// <summary>
    /// Audio [B, C, F · hop] of codes [B, C, K', F]: each channel's codebooks through the mono codec. Longer
    /// codes go through the streaming decoder a piece at a time, so memory stays that of one piece, for audio
    /// within float rounding of the whole decode (<see cref="AudioStream"/>), and no slower.
    /// </summary>
    public AudioBatch DecodeAudio(CodesBatch codes)
    {
        if (codes.Channels != AudioChannels || codes.Codebooks != ChannelCodebooks)
            throw new MusicGenException($"codes of {codes.Channels} channel(s) × {codes.Codebooks} codebooks do not fit this model's {AudioChannels} × {ChannelCodebooks}");
        if (codes.Frames > DecodePieceFrames) return DecodeInPieces(codes);
        int batch = codes.Batch, channels = codes.Channels, perChannel = codes.Codebooks, frames = codes.Frames, samples = 0;
        var audio = Array.Empty<float>();
        for (int c = 0; c < channels; c++)
        {
            var channel = new int[batch * perChannel * frames];
            for (int b = 0; b < batch; b++)
                codes.Values.AsSpan((b * channels + c) * perChannel * frames, perChannel * frames).CopyTo(channel.AsSpan(b * perChannel * frames));
            using var decoded = _model.AudioEncoder.Decode(channel, batch, perChannel, frames); // [B, 1, S]
            samples = decoded.Dim(2);
            if (audio.Length == 0) audio = new float[batch * channels * samples];
            var host = decoded.ToArray();
            FiniteCheck.Require(host, "the audio decoded by the codec (the checkpoint's weights may hold NaN or infinity)");
            for (int b = 0; b < batch; b++)
                host.AsSpan(b * samples, samples).CopyTo(audio.AsSpan((b * channels + c) * samples));
        }
        return new AudioBatch(_model.Config.AudioEncoder.SamplingRate, batch, channels, samples, audio);
    }

    private AudioBatch DecodeInPieces(CodesBatch codes)
    {
        using var stream = new AudioStream(_model.AudioEncoder, codes.Batch, codes.Channels, codes.Codebooks, DecodePieceFrames);
        var pieces = new List<AudioBatch>();
        for (int start = 0; start < codes.Frames; start += DecodePieceFrames)
            pieces.Add(stream.Push(codes.FrameRange(start, Math.Min(DecodePieceFrames, codes.Frames - start))));
        pieces.Add(stream.Finish());
        var audio = AudioBatch.Concatenate(pieces);
        FiniteCheck.Require(audio.Values, "the audio decoded by the codec (the checkpoint's weights may hold NaN or infinity)");
        return audio;
    }
}
