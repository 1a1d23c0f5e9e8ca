namespace MusicGen.Engine.Models.Musicgen;

/// <summary>
/// The decoder's sinusoidal position table (modeling_musicgen.MusicgenSinusoidalPositionalEmbedding): cosines
/// in the first half of each row, sines in the second, frequencies 10000^(−i / (half − 1)). Checkpoints store
/// the table; it is computed only when one does not.
/// </summary>
public static class MusicgenSinusoidalPositionalEmbedding
{
    public static float[] Table(int positions, int width)
    {
        int half = width / 2;
        float step = (float)(Math.Log(10000) / (half - 1));
        var table = new float[positions * width];
        for (int p = 0; p < positions; p++)
            for (int i = 0; i < half; i++)
            {
                float angle = p * MathF.Exp(i * -step);
                table[p * width + i] = MathF.Cos(angle);
                table[p * width + half + i] = MathF.Sin(angle);
            }
        return table;
    }
}
