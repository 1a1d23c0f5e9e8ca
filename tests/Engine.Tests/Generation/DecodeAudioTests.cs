using MusicGen.Engine.Backends.Cpu;
using MusicGen.Engine.Codec;
using MusicGen.Engine.Generation;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Engine.Text;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Generation;

/// <summary>
/// Codes longer than 5 s decode in pieces (bounded memory): the audio must be the whole decode's, item by item
/// and channel by channel, within float rounding, with every sample there.
/// </summary>
public class DecodeAudioTests
{
    [Fact]
    public void Long_codes_decode_in_pieces_to_the_audio_of_the_whole_decode()
    {
        using var backend = new CpuBackend();
        using var checkpoint = CheckpointFolder.Open(Path.Combine(TestPaths.Golden("musicgen-stereo"), "model"));
        var model = MusicgenModels.Load(backend, checkpoint);
        var generator = new MusicgenGenerator(backend, model, T5Tokenizer.FromFolder(checkpoint.Folder), checkpoint.Generation.DecoderStartTokenId);
        var codec = model.AudioEncoder;
        int batch = 2, channels = generator.Layout.Channels, codebooks = generator.Layout.CodebooksPerChannel, frames = 613;
        var random = new Random(5);
        var codes = new CodesBatch(batch, channels, codebooks, frames,
            Enumerable.Range(0, batch * channels * codebooks * frames).Select(_ => random.Next(codec.Quantizer.CodebookSize)).ToArray());

        var audio = generator.DecodeAudio(codes);

        int hop = codec.Config.HopLength;
        Assert.Equal([batch, channels, frames * hop], audio.Shape);
        for (int c = 0; c < channels; c++)
        {
            var channel = new int[batch * codebooks * frames];
            for (int b = 0; b < batch; b++)
                codes.Values.AsSpan((b * channels + c) * codebooks * frames, codebooks * frames).CopyTo(channel.AsSpan(b * codebooks * frames));
            using var whole = codec.Decode(channel, batch, codebooks, frames);
            var expected = whole.ToArray();
            float peak = expected.Max(MathF.Abs);
            for (int b = 0; b < batch; b++)
                for (int i = 0; i < frames * hop; i++)
                    Assert.True(Math.Abs(audio[b, c, i] - expected[b * frames * hop + i]) <= 1e-5 * peak,
                        $"item {b} channel {c} sample {i}: {audio[b, c, i]} against {expected[b * frames * hop + i]}");
        }
    }
}
