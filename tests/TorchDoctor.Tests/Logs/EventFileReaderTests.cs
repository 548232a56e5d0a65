using Google.Protobuf;
using Tensorboard;
using TorchDoctor.Logs;
using TorchSharp;
using Xunit;

namespace TorchDoctor.Tests.Logs;

public class EventFileReaderTests
{
    private static string FixtureFile => Fixtures.Path("events/events.out.tfevents.fixture.torchdoctor");

    private static byte[] Record(Event ev)
    {
        using var ms = new MemoryStream();
        TfRecord.Write(ms, ev.ToByteArray());
        return ms.ToArray();
    }

    private static Event ScalarEvent(string tag, long step, float v)
    {
        var ev = new Event { Step = step, WallTime = 1.7e9 + step, Summary = new Summary() };
        ev.Summary.Value.Add(new Summary.Types.Value { Tag = tag, SimpleValue = v });
        return ev;
    }

    [Fact]
    public void Crc32CMatchesTheStandardCheckValue()
    {
        // The CRC-32C check value of "123456789" (RFC 3720 appendix B.4 / the usual catalogue).
        Assert.Equal(0xE3069283u, TfRecord.Crc32C("123456789"u8));
    }

    [Fact]
    public void ReadsTheFixtureWrittenByTorchSharpAndTensorEncodedScalars()
    {
        var log = EventFileReader.ReadFile(FixtureFile);
        Assert.Empty(log.Problems);
        var loss = log.Get("loss");
        Assert.Equal(50, loss.Count);
        for (int s = 0; s < 50; s++)
        {
            Assert.Equal(s, loss[s].Step);
            Assert.Equal(1.0f / (1 + s * 0.1f), (float)loss[s].Value);
        }
        var pt = log.Get("pytorch_new_style");
        Assert.Equal(Enumerable.Range(0, 10).Select(s => (double)(0.5f * s)), pt.Select(p => p.Value));
        var tf = log.Get("tf2_double");
        Assert.Equal(Enumerable.Range(0, 5).Select(s => s * 1.25), tf.Select(p => p.Value));
        Assert.Contains(log.Texts, t => t.Tag == "note" && t.Text.Contains("SummaryWriter", StringComparison.Ordinal));
        Assert.DoesNotContain("weights/fc", log.Scalars.Keys);   // histograms are not scalars
    }

    [Fact]
    public void EveryScalarWrittenBySummaryWriterReadsBackEqual()
    {
        var dir = Directory.CreateTempSubdirectory("td-tb-").FullName;
        try
        {
            var w = torch.utils.tensorboard.SummaryWriter(dir);
            var rng = new Random(3);
            var written = new List<float>();
            for (int s = 0; s < 200; s++)
            {
                var v = (float)(rng.NextDouble() * Math.Pow(10, rng.Next(-8, 8)) * (rng.Next(2) == 0 ? -1 : 1));
                written.Add(v);
                w.add_scalar("x", v, s);
            }
            var log = LogDirectory.Read(dir).Single();
            Assert.Empty(log.Problems);
            Assert.Equal(written, log.Get("x").Select(p => (float)p.Value));
            Assert.Equal(Enumerable.Range(0, 200).Select(i => (long)i), log.Get("x").Select(p => p.Step));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void TruncatedLastRecordKeepsEverythingBeforeIt()
    {
        var records = Enumerable.Range(0, 5).Select(s => Record(ScalarEvent("a", s, s))).ToList();
        var whole = records.SelectMany(r => r).ToArray();
        int before = records.Take(4).Sum(r => r.Length);
        // Cut anywhere inside the last record: the first four survive and the cut is a truncation, not corruption.
        for (int cut = before + 1; cut < whole.Length; cut++)
        {
            var log = new ScalarLog("t", "t");
            EventFileReader.ReadBytes(whole[..cut], "t", log);
            Assert.Equal(4, log.Get("a").Count);
            var p = Assert.Single(log.Problems);
            Assert.True(p.IsTruncation, p.Message);
            Assert.Contains("truncated last record", p.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void BadDataChecksumSkipsThatRecordOnly()
    {
        var records = Enumerable.Range(0, 5).Select(s => Record(ScalarEvent("a", s, s))).ToList();
        records[2][14] ^= 0x40;   // a byte of the payload
        var log = new ScalarLog("t", "t");
        EventFileReader.ReadBytes(records.SelectMany(r => r).ToArray(), "f", log);
        Assert.Equal([0L, 1, 3, 4], log.Get("a").Select(p => p.Step));
        var p = Assert.Single(log.Problems);
        Assert.Contains("bad data checksum", p.Message, StringComparison.Ordinal);
        Assert.False(p.IsTruncation);
    }

    [Fact]
    public void BadLengthChecksumStopsTheFileAndKeepsWhatCameBefore()
    {
        var records = Enumerable.Range(0, 5).Select(s => Record(ScalarEvent("a", s, s))).ToList();
        records[3][2] ^= 0x01;   // a byte of the length
        var log = new ScalarLog("t", "t");
        EventFileReader.ReadBytes(records.SelectMany(r => r).ToArray(), "f", log);
        Assert.Equal([0L, 1, 2], log.Get("a").Select(p => p.Step));
        Assert.Contains("bad length checksum", Assert.Single(log.Problems).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownProtobufFieldsAreIgnored()
    {
        var payload = ScalarEvent("a", 7, 2.5f).ToByteArray().ToList();
        // Field 100, varint 42; and field 101, length-delimited "hi": fields a newer writer might add.
        payload.AddRange([0xA0, 0x06, 42, 0xAA, 0x06, 2, (byte)'h', (byte)'i']);
        using var ms = new MemoryStream();
        TfRecord.Write(ms, payload.ToArray());
        var log = new ScalarLog("t", "t");
        EventFileReader.ReadBytes(ms.ToArray(), "f", log);
        Assert.Empty(log.Problems);
        Assert.Equal(2.5, Assert.Single(log.Get("a")).Value);
    }

    [Fact]
    public void EmptyDirectoryAndMissingPathSayWhatIsMissing()
    {
        var dir = Directory.CreateTempSubdirectory("td-empty-").FullName;
        try
        {
            var e = Assert.Throws<LogNotFoundException>(() => LogDirectory.Read(dir));
            Assert.Contains("no TensorBoard event files", e.Message, StringComparison.Ordinal);
            var e2 = Assert.Throws<LogNotFoundException>(() => LogDirectory.Read(Path.Combine(dir, "nope")));
            Assert.Contains("no such file or directory", e2.Message, StringComparison.Ordinal);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void NotAnEventFileIsOneClearProblem()
    {
        var log = new ScalarLog("t", "t");
        EventFileReader.ReadBytes("this is a CSV file, not TensorBoard\n1,2,3\n"u8.ToArray(), "f.csv", log);
        Assert.Equal(0, log.Records);
        Assert.Contains("bad length checksum", Assert.Single(log.Problems).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ThousandsOfMutatedFilesNeverThrow()
    {
        var original = File.ReadAllBytes(FixtureFile);
        var rng = new Random(20261129);
        int withProblems = 0;
        for (int i = 0; i < 3000; i++)
        {
            var bytes = original.ToArray();
            switch (rng.Next(5))
            {
                case 0: for (int k = rng.Next(1, 8); k > 0; k--) bytes[rng.Next(bytes.Length)] ^= (byte)(1 << rng.Next(8)); break;
                case 1: bytes = bytes[..rng.Next(bytes.Length)]; break;
                case 2: { int at = rng.Next(bytes.Length); var junk = new byte[rng.Next(1, 40)]; rng.NextBytes(junk); bytes = [.. bytes[..at], .. junk, .. bytes[at..]]; break; }
                case 3: { int at = rng.Next(bytes.Length - 8); rng.NextBytes(bytes.AsSpan(at, 8)); break; }
                default: { int a = rng.Next(bytes.Length), b = rng.Next(a, bytes.Length); bytes = [.. bytes[..a], .. bytes[b..]]; break; }
            }
            var log = new ScalarLog("fuzz", "fuzz");
            EventFileReader.ReadBytes(bytes, "fuzz", log);   // must not throw
            if (log.Problems.Count > 0) withProblems++;
            Assert.True(log.Problems.Count <= EventFileReader.MaxProblemsPerFile + 1);
        }
        Assert.True(withProblems > 2500, $"only {withProblems} of 3000 mutations were noticed");
    }
}
