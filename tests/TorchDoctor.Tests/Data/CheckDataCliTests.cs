using TorchDoctor.Data;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace TorchDoctor.Tests.Data;

public class CheckDataCliTests
{
    [Theory]
    [InlineData("check-data")]
    [InlineData("check-data", "--csv", "a.csv", "--images", "dir")]
    [InlineData("check-data", "--idx", "only-one")]
    [InlineData("check-data", "--fashion-mnist", "/no/such/dir")]
    [InlineData("check-data", "--csv", "/no/such.csv")]
    [InlineData("check-data", "--images", "/no/such/dir")]
    public void Bad_usage_and_missing_input_exit_2_with_one_line(params string[] args)
    {
        var (code, _, err) = CliRunner.Run(args);
        Assert.Equal(2, code);
        Assert.StartsWith("torchdoctor: ", err);
        Assert.Single(err.Trim().Split('\n'));
    }

    [Fact]
    public void Missing_fashion_mnist_names_the_package()
    {
        var (_, _, err) = CliRunner.Run("check-data", "--fashion-mnist", "/no/such/dir");
        Assert.Contains("dataset-fashion-mnist", err);
    }

    [Fact]
    public void Corrupt_idx_file_exits_2_naming_the_file()
    {
        using var dir = new TempDir();
        var (images, labels) = Idx.WriteSet(dir);
        var bytes = File.ReadAllBytes(images);
        File.WriteAllBytes(images, bytes[..(bytes.Length - 100)]);
        var (code, output, err) = CliRunner.Run("check-data", "--idx", images, labels, "--json");
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains(images, err);
        Assert.Contains("short read", err);
    }

    [Fact]
    public void Idx_files_check_clean_then_with_too_few_classes()
    {
        using var dir = new TempDir();
        var (images, labels) = Idx.WriteSet(dir);
        var (code, output, err) = CliRunner.Run("check-data", "--idx", images, labels, "--json");
        Assert.True(code == 0, err + output);
        var j = CliRunner.Json(output);
        Assert.Equal(20, j.GetProperty("samples").GetInt64());
        Assert.Equal(10, j.GetProperty("classes").GetProperty("count").GetInt32());
        var (code5, output5, _) = CliRunner.Run("check-data", "--idx", images, labels, "--classes", "5");
        Assert.Equal(1, code5);
        Assert.Contains("TD3013 label-out-of-range", output5);
        Assert.Contains("Normalize", output5);
    }

    [Fact]
    public void Idx_with_a_test_split_reports_overlap_and_loader_settings()
    {
        using var dir = new TempDir();
        var (images, labels) = Idx.WriteSet(dir, n: 40);
        var (ti, tl) = Idx.WriteSet(dir, n: 3, suffix: "-test");   // the same first 3 images: overlap
        var (code, output, _) = CliRunner.Run("check-data", "--idx", images, labels, "--test-idx", ti, tl, "--batch-size", "39", "--json");
        Assert.Equal(1, code);
        var j = CliRunner.Json(output);
        Assert.Equal(3, j.GetProperty("leakage").GetInt64());
        var codes = j.GetProperty("findings").EnumerateArray().Select(f => f.GetProperty("code").GetString()).ToList();
        Assert.Contains("TD3016", codes);
        Assert.Contains("TD3018", codes); // 40 = 39 + 1: a last batch of one
    }

    [Fact]
    public void Csv_with_an_empty_cell_reports_its_row()
    {
        using var dir = new TempDir();
        var path = dir.File("d.csv");
        File.WriteAllLines(path, ["a,b,label", "1,2,0", "3,,1", "5,6,0", "7,8,1"]);
        var (code, output, _) = CliRunner.Run("check-data", "--csv", path, "--json");
        Assert.Equal(1, code);
        var f = CliRunner.Json(output).GetProperty("findings").EnumerateArray().Single(x => x.GetProperty("code").GetString() == "TD3005");
        Assert.Equal("features", f.GetProperty("module").GetString());
        Assert.Equal("1", f.GetProperty("evidence").GetProperty("indices").GetString());
    }

    [Fact]
    public void Csv_errors_name_the_line_and_what_was_expected()
    {
        using var dir = new TempDir();
        var path = dir.File("d.csv");
        File.WriteAllLines(path, ["a,b,label", "1,2,0", "3,x,1"]);
        // A text cell makes its column categorical (issue 9): reported with its first line, left out of the features.
        using (var withText = CsvDataset.Load(path))
        {
            var t = Assert.Single(withText.TextColumns);
            Assert.Equal(("b", 3), (t.Name, t.FirstLine));
            Assert.Equal(["a"], withText.FeatureColumns);
        }
        File.WriteAllLines(path, ["1,2,0", "3,1"]);
        Assert.Contains("line 2 has 2 columns; expected 3", Assert.Throws<DataFileException>(() => CsvDataset.Load(path)).Message);
        File.WriteAllLines(path, ["1,2,0"]);
        Assert.Contains("no label column 'y'", Assert.Throws<DataFileException>(() => CsvDataset.Load(path, "y")).Message);
    }

    [Fact]
    public void Image_folder_decodes_with_torchvision_and_reports_an_undecodable_file()
    {
        using var dir = new TempDir();
        var imager = new torchvision.io.SkiaImager();
        for (int c = 0; c < 2; c++)
        {
            Directory.CreateDirectory(dir.File($"class{c}"));
            for (int i = 0; i < 3; i++)
                torchvision.io.write_png(full(new long[] { 3, 10, 12 }, (byte)(40 * c + 10 * i + 5), dtype: ScalarType.Byte), dir.File($"class{c}/{i}.png"), imager);
        }
        File.WriteAllText(dir.File("class1/broken.png"), "hello, not a png");
        using var ds = new ImageFolderDataset(dir.Path);
        Assert.Equal(["class0", "class1"], ds.Classes);
        var s = ds.GetTensor(0);
        Assert.Equal(ScalarType.Float32, s["data"].dtype);
        Assert.Equal(3, s["data"].shape[0]);
        var e = Assert.Throws<DataFileException>(() => ds.GetTensor(ds.Files.ToList().FindIndex(f => f.Path.EndsWith("broken.png"))));
        Assert.Contains("broken.png: does not decode as an image", e.Message);
        Assert.Contains("found 16 bytes starting 'hello, n'", e.Message);

        var (code, output, _) = CliRunner.Run("check-data", "--images", dir.Path, "--json");
        Assert.Equal(1, code);
        var j = CliRunner.Json(output);
        var f = j.GetProperty("findings").EnumerateArray().Single(x => x.GetProperty("code").GetString() == "TD3001");
        Assert.Contains("broken.png", f.GetProperty("message").GetString());
        Assert.Equal(3, j.GetProperty("fields").EnumerateArray().Single(x => x.GetProperty("name").GetString() == "data").GetProperty("shape")[0].GetInt64());
    }
}
