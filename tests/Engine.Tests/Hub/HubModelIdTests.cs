using FsCheck.Fluent;
using MusicGen.Loaders.Hub;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Hub;

public class HubModelIdTests
{
    [Theory]
    [InlineData("facebook/musicgen-small", "facebook", "musicgen-small", "main")]
    [InlineData("facebook/musicgen-stereo-melody-large@v1.0", "facebook", "musicgen-stereo-melody-large", "v1.0")]
    [InlineData("a_b/c.d@refs/pr/12", "a_b", "c.d", "refs/pr/12")]
    public void Ids_with_and_without_a_revision(string text, string owner, string name, string revision)
    {
        Assert.True(HubModelId.TryParse(text, out var id));
        Assert.Equal(new HubModelId(owner, name, revision), id);
    }

    [Fact]
    public void Only_a_full_lowercase_commit_hash_is_a_commit()
    {
        Assert.True(HubModelId.TryParse("o/n@" + new string('a', 40), out var commit) && commit.RevisionIsCommit);
        Assert.True(HubModelId.TryParse("o/n@" + new string('a', 39), out var prefix) && !prefix.RevisionIsCommit);
        Assert.True(HubModelId.TryParse("o/n@" + new string('A', 40), out var upper) && !upper.RevisionIsCommit);
    }

    [Theory]
    [InlineData("musicgen-small")]
    [InlineData("a/b/c")]
    [InlineData("/abs/path")]
    [InlineData("-a/b")]
    [InlineData("a/b.")]
    [InlineData("a--b/c")]
    [InlineData("a/b..c")]
    [InlineData("a/b@")]
    [InlineData("a/b@x/../y")]
    [InlineData("a/b@x//y")]
    [InlineData(@"a/b@x\y")]
    [InlineData("a/b@x y")]
    [InlineData(@"C:\models\m")]
    public void Paths_and_malformed_ids_are_not_ids(string text) => Assert.False(HubModelId.TryParse(text, out _));

    [Fact]
    public void Whatever_parses_stays_inside_its_cache_folder()
    {
        var texts = Gen.Elements('a', 'Z', '0', '_', '-', '.', '/', '\\', '@', ' ', ':').ArrayOf().Select(chars => new string(chars));
        Properties.ForAll(texts, text =>
        {
            if (!HubModelId.TryParse(text, out var id)) return;
            Assert.All(new[] { id.Owner, id.Name }, part =>
            {
                Assert.DoesNotContain('/', part);
                Assert.DoesNotContain('\\', part);
                Assert.DoesNotContain("..", part);
            });
            Assert.All(id.Revision.Split('/'), segment => Assert.True(segment.Length > 0 && segment != "." && segment != "..", id.Revision));
            Assert.Equal(text.Contains('@') ? text : text + "@main", id.ToString());
        }, cases: 2000);
    }
}
