using MusicGen.Loaders.Hub;
using MusicGen.Tests.Support;
using static MusicGen.Tests.Hub.HubTestData;

namespace MusicGen.Tests.Hub;

/// <summary>The settings read from environment variables, and the command line using them. The variables are
/// process-wide, so these tests run in the "Console" collection, alone.</summary>
[Collection("Console")]
public class HubEnvironmentTests
{
    private static readonly string[] Variables = ["HF_ENDPOINT", "HF_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "HF_TOKEN", "HF_HUB_OFFLINE"];

    /// <summary>A scope with every Hub variable unset, whatever the machine running the tests has.</summary>
    private static EnvironmentScope CleanEnvironment() =>
        Variables.Aggregate(new EnvironmentScope(), (scope, name) => scope.Set(name, null));

    [Fact]
    public void Without_variables_the_public_Hub_and_the_home_cache_are_used()
    {
        using var environment = CleanEnvironment();
        var options = HubOptions.FromEnvironment();
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        Assert.Equal(new HubOptions("https://huggingface.co", Path.Combine(home, ".cache", "huggingface", "hub"), null, false), options);
    }

    [Fact]
    public void Each_variable_has_its_effect_and_the_cache_variables_their_precedence()
    {
        using var environment = CleanEnvironment()
            .Set("HF_ENDPOINT", "http://mirror.example/").Set("HF_TOKEN", "hf_abc").Set("HF_HUB_OFFLINE", "1")
            .Set("XDG_CACHE_HOME", "/xdg");
        var options = HubOptions.FromEnvironment();
        Assert.Equal(("http://mirror.example", "hf_abc", true), (options.Endpoint, options.Token, options.Offline));
        Assert.Equal(Path.Combine("/xdg", "huggingface", "hub"), options.CacheDirectory);

        environment.Set("HF_HOME", "/hf-home");
        Assert.Equal(Path.Combine("/hf-home", "hub"), HubOptions.FromEnvironment().CacheDirectory);
        environment.Set("HF_HUB_CACHE", "~/hub-cache");
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        Assert.Equal(Path.Combine(home, "hub-cache"), HubOptions.FromEnvironment().CacheDirectory);
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("true", true)]
    [InlineData("YES", true)]
    [InlineData("on", true)]
    [InlineData("0", false)]
    [InlineData("false", false)]
    [InlineData("", false)]
    public void Offline_mode_takes_the_values_huggingface_hub_takes(string value, bool offline)
    {
        using var environment = CleanEnvironment().Set("HF_HUB_OFFLINE", value).Set("HF_TOKEN", "");
        var options = HubOptions.FromEnvironment();
        Assert.Equal(offline, options.Offline);
        Assert.Null(options.Token);
    }

    [Fact]
    public void The_command_line_downloads_a_Hub_id_then_uses_the_cache_offline()
    {
        using var temp = new TempFolder();
        var repo = FakeRepo.Create(RepoId, MonoModel);
        using var hub = new FakeHub(repo);
        using var environment = CleanEnvironment().Set("HF_ENDPOINT", hub.Endpoint).Set("HF_HUB_CACHE", temp.Path);

        var online = CliRunner.Run("info", "--model", RepoId);

        Assert.True(online.ExitCode == 0, online.Error);
        Assert.Contains($"folder      {SnapshotOf(temp.Path, repo.MainCommit)}", online.Output);
        Assert.Contains("kind        musicgen", online.Output);
        Assert.Contains("downloading model.safetensors (8.0 MiB)…", online.Error);

        hub.Stop();
        environment.Set("HF_HUB_OFFLINE", "1");
        var offline = CliRunner.Run("info", "--model", $"{RepoId}@main");
        Assert.True(offline.ExitCode == 0, offline.Error);
        Assert.Equal(online.Output, offline.Output);
        Assert.Empty(offline.Error);

        var missing = CliRunner.Run("info", "--model", "facebook/other");
        Assert.Equal(1, missing.ExitCode);
        Assert.StartsWith("error: facebook/other@main: not in the Hugging Face cache", missing.Error);
    }

    [SkippableFact]
    public void The_command_line_reads_a_huggingface_hub_cache_and_shows_the_sizes_of_the_blobs()
    {
        using var temp = new TempFolder();
        string commit = FakeRepo.NewCommit();
        PythonStyleCache.Write(temp.Path, RepoId, commit, MonoModel, Directory.GetFiles(MonoModel).Select(Path.GetFileName)!);
        using var environment = CleanEnvironment().Set("HF_HUB_CACHE", temp.Path).Set("HF_HUB_OFFLINE", "1");

        var result = CliRunner.Run("info", "--model", RepoId);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Matches(@"model\.safetensors\s+8\.0 MiB", result.Output);
    }
}
