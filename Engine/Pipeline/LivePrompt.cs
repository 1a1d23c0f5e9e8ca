namespace MusicGen.Engine;

/// <summary>
/// A text that may change while a piece is generated, such as a server's stream steered by its listeners
/// (<see cref="MusicRequest.LivePrompt"/>): each window is conditioned on the text it holds when the window starts,
/// for every item. <see cref="Change"/> checks nothing: check a new text first, as a request's prompt, with
/// <see cref="MusicgenPipeline.Prepare"/>.
/// </summary>
public sealed class LivePrompt(string text)
{
    private string _text = text;

    /// <summary>The text the next window takes.</summary>
    public string Text => Volatile.Read(ref _text);

    /// <summary>Sets the text of the windows that start from now on; the window being generated keeps its own.</summary>
    public void Change(string text) => Volatile.Write(ref _text, text);
}
