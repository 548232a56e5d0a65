using System.Globalization;
using System.Text.Json;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace TorchDoctor.Tests.Data;

/// <summary>
/// Issue 9 §3, the static items of the trial (summary and check-data), each as the trial ran it on the CLI. The
/// TorchScript and table-width items are in Inspection/ModelSummaryTests.
/// </summary>
public class IssueNineStaticTests
{
    private static List<JsonElement> Findings(string json) => [.. CliRunner.Json(json).GetProperty("findings").EnumerateArray()];
    private static string Code(JsonElement f) => f.GetProperty("code").GetString()!;

    [Fact]
    public void Summary_mlp_on_unflattened_images_advises_flatten_not_a_new_linear()
    {
        var (code, output, _) = CliRunner.Run("summary", "--model", "mlp", "--input", "64,1,28,28", "--no-measure", "--json");
        Assert.Equal(3, code);
        var f = Findings(output).Single(x => Code(x) == "TD1003");
        var advice = f.GetProperty("advice").GetString()!;
        Assert.Contains("flatten", advice);
        Assert.DoesNotContain("Linear(28", advice);
        Assert.Contains("1×28×28 = 784", f.GetProperty("message").GetString());
    }

    [Fact]
    public void Summary_resnet18_without_a_batch_dimension_says_so()
    {
        var (code, output, _) = CliRunner.Run("summary", "--model", "resnet18", "--input", "3,224,224", "--no-measure", "--json");
        Assert.Equal(3, code);
        var f = Findings(output).Single(x => Code(x) == "TD1003");
        Assert.Equal("bn1", f.GetProperty("module").GetString());
        Assert.Contains("no batch dimension", f.GetProperty("message").GetString());
        Assert.Contains("--input 1,3,224,224", f.GetProperty("advice").GetString());
        // A pass that failed part-way has unknown totals (the layers after bn1 never ran), not 0.
        var j = CliRunner.Json(output);
        Assert.Equal(JsonValueKind.Null, j.GetProperty("multAdds").ValueKind);
        Assert.Equal(JsonValueKind.Null, j.GetProperty("forwardBackwardBytes").ValueKind);
    }

    [Fact]
    public void Summary_batch_dim_with_a_built_in_model_adds_no_fifth_dimension_and_sizes_carry_units()
    {
        var (code, output, err) = CliRunner.Run("summary", "--model", "resnet18", "--batch-dim", "0", "--no-measure", "--json");
        Assert.True(code == 0, err);
        Assert.Equal(4, CliRunner.Json(output).GetProperty("inputShapes")[0].GetArrayLength());
        var (code2, text, _) = CliRunner.Run("summary", "--model", "mlp", "--no-measure", "--format", "text");
        Assert.Equal(0, code2);
        Assert.Contains("Input size (kB): 3.14", text);
        Assert.Contains("Params size (kB):", text);
        Assert.DoesNotContain("Input size:", text);
    }

    [Fact]
    public void Check_data_csv_text_column_is_categorical_and_columns_get_their_own_statistics()
    {
        using var dir = new TempDir();
        var path = dir.File("t.csv");
        var lines = new List<string> { "age,income,city,constant,y" };
        var cities = new[] { "Lyon", "Oslo", "Porto" };
        for (int i = 0; i < 60; i++)
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"{20 + i % 50},{3000 + i * 3300},{cities[i % 3]},5,{i % 2}"));
        File.WriteAllLines(path, lines);
        var (code, output, err) = CliRunner.Run("check-data", "--csv", path, "--label-column", "y", "--json");
        Assert.True(code is 0 or 1, err);   // the text column no longer stops the check with exit 2
        var fs = Findings(output);
        Assert.Contains(fs, f => Code(f) == "TD3024" && f.GetProperty("module").GetString() == "city");       // categorical
        Assert.Contains(fs, f => Code(f) == "TD3006" && f.GetProperty("module").GetString() == "constant");   // constant column
        Assert.Contains(fs, f => Code(f) == "TD3023" && f.GetProperty("module").GetString() == "income");     // scale, per column
    }

    [Fact]
    public void Check_data_bce_labels_are_not_told_to_be_int64()
    {
        using var dir = new TempDir();
        var path = dir.File("b.csv");
        File.WriteAllLines(path, new[] { "a,b,y" }.Concat(Enumerable.Range(0, 40).Select(i => string.Create(CultureInfo.InvariantCulture, $"{i % 7 * 0.1},{i % 5 * 0.2},{(i % 2).ToString("0.0", CultureInfo.InvariantCulture)}"))));
        var (_, output, _) = CliRunner.Run("check-data", "--csv", path, "--label-column", "y", "--loss", "bce", "--json");
        Assert.DoesNotContain(Findings(output), f => Code(f) == "TD3012");
    }

    [Fact]
    public void Check_data_three_class_folder_against_resnet18()
    {
        using var dir = new TempDir();
        var imager = new torchvision.io.SkiaImager();
        string[] classes = ["circle", "square", "stripes"];
        for (int c = 0; c < 3; c++)
        {
            Directory.CreateDirectory(dir.File(classes[c]));
            for (int i = 0; i < 4; i++)
                torchvision.io.write_png(full(new long[] { 3, 16, 16 }, (byte)(30 * c + 20 * i + 5), dtype: ScalarType.Byte), dir.File($"{classes[c]}/{i}.png"), imager);
        }
        torchvision.io.write_png(full(new long[] { 1, 16, 16 }, (byte)90, dtype: ScalarType.Byte), dir.File("square/grey.png"), imager);

        var (code, output, err) = CliRunner.Run("check-data", "--images", dir.Path, "--model", "resnet18", "--json");
        Assert.True(code == 1, err);
        var fs = Findings(output);
        var head = fs.Single(f => Code(f) == "TD3026");                       // 1,000 outputs for 3 classes
        Assert.Contains("1,000 outputs", head.GetProperty("message").GetString());
        Assert.Contains("3 classes", head.GetProperty("message").GetString());
        Assert.Contains(fs, f => Code(f) == "TD3011");                        // the grey image is a channel mismatch ...
        Assert.DoesNotContain(fs, f => Code(f) == "TD3004");                  // ... not also an inconsistent shape
        // The Normalize advice has one value per RGB channel.
        var normalize = fs.Single(f => Code(f) == "TD3008").GetProperty("advice").GetString()!;
        var means = normalize[(normalize.IndexOf("{ ", StringComparison.Ordinal) + 2)..normalize.IndexOf(" }", StringComparison.Ordinal)];
        Assert.Equal(3, means.Split(',').Length);

        // The class table lists the 3 classes and one line for the empty model classes, not 50 empty rows + "…950 more".
        var (_, text, _) = CliRunner.Run("check-data", "--images", dir.Path, "--model", "resnet18");
        Assert.Contains("997 of the 1,000 classes have no sample", text);
        Assert.DoesNotContain("more", text.Split('\n').Where(l => l.Contains("(empty)", StringComparison.Ordinal)).DefaultIfEmpty("").First());

        // --raw reads the files as they are: UInt8 (Byte), not Float32.
        var (_, raw, _) = CliRunner.Run("check-data", "--images", dir.Path, "--raw", "--json");
        var data = CliRunner.Json(raw).GetProperty("fields").EnumerateArray().First(f => f.GetProperty("name").GetString() == "data");
        Assert.Equal("Byte", data.GetProperty("dtype").GetString());
    }
}
