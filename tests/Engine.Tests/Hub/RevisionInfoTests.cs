using System.Text;
using MusicGen.Loaders;
using MusicGen.Loaders.Hub;

namespace MusicGen.Tests.Hub;

public class RevisionInfoTests
{
    private static RevisionInfo Parse(string json) => RevisionInfo.Parse(Encoding.UTF8.GetBytes(json), "o/n@main");

    [Fact]
    public void The_commit_and_the_file_names_are_read_and_other_fields_ignored()
    {
        var info = Parse($$"""{"id":"o/n","sha":"{{new string('c', 40)}}","private":false,"siblings":[{"rfilename":"config.json"},{"rfilename":"model.safetensors","size":3},{"other":1}]}""");
        Assert.Equal(new string('c', 40), info.Commit);
        Assert.Equal(["config.json", "model.safetensors"], info.Files.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("<html>login</html>", "not JSON")]
    [InlineData("[1,2]", "not a JSON object")]
    [InlineData("""{"siblings":[]}""", "no commit hash")]
    [InlineData("""{"sha":"../../../etc","siblings":[]}""", "no commit hash")]
    [InlineData("""{"sha":"cccccccccccccccccccccccccccccccccccccccc"}""", "no file list")]
    public void Answers_that_are_not_a_revision_are_refused(string json, string expected)
    {
        var error = Assert.Throws<MusicGenException>(() => Parse(json));
        Assert.StartsWith("o/n@main: ", error.Message);
        Assert.Contains(expected, error.Message);
    }
}
