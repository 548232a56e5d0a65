using TorchDoctor.Observations;
using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json;
using TorchDoctor.Findings;
using TorchDoctor.Logs;

namespace TorchDoctor.Reporting;

/// <summary>
/// Writes a report as one self-contained HTML file: findings first (severity, where, evidence, fix), then charts drawn by
/// Chart.js (vendored by scripts/vendor-charts.sh and inlined: the page loads nothing from the network) and tables. Charts
/// appear only for data that exists: train/validation curves with the overfitting onset marked, accuracy, learning rate,
/// a per-layer gradient-norm heatmap over steps, dead-unit fractions, the memory timeline (live tensors, resident memory),
/// the profiler breakdown (self time per module, step phases); sample grids are drawn from
/// pixel arrays on canvases. The page sets <c>data-charts</c> (charts drawn) and <c>data-errors</c> (script errors) on
/// its body, which the browser test reads.
/// </summary>
public static class HtmlReport
{
    /// <summary>Points per series kept in the page (longer series are averaged into this many bins).</summary>
    public const int MaxPoints = 1500;

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/>.</summary>
    public static void Write(ReportModel model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        File.WriteAllText(path, Render(model), new UTF8Encoding(false));
    }

    private static string H(string? s) => WebUtility.HtmlEncode(s ?? "");

    private static string Asset(string name)
    {
        using var s = Assembly.GetExecutingAssembly().GetManifestResourceStream("TorchDoctor.Assets." + name)
            ?? throw new InvalidOperationException($"embedded asset {name} is missing from the build");
        using var r = new StreamReader(s);
        // Inlined inside <script>: a literal "</script" in the library would end the element early.
        return r.ReadToEnd().Replace("</script", "<\\/script", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The page as a string.</summary>
    public static string Render(ReportModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        sb.Append("<title>").Append(H(model.Title)).Append("</title>\n<style>").Append(Css).Append("</style>\n");
        sb.Append("<script>window.__tdErrors=[];window.addEventListener('error',function(e){window.__tdErrors.push(String(e.message));document.body&&document.body.setAttribute('data-errors',String(window.__tdErrors.length));});</script>\n");
        sb.Append("</head><body data-errors=\"0\" data-charts=\"0\">\n<header><h1>").Append(H(model.Title)).Append("</h1>");
        if (model.Subtitle is not null) sb.Append("<p class=\"sub\">").Append(H(model.Subtitle)).Append("</p>");
        sb.Append("<p class=\"sub\">TorchDoctor · ").Append(DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)).Append("</p></header>\n");
        WriteFindings(sb, model.Findings);
        foreach (var n in model.Notes) sb.Append("<p class=\"note\">").Append(H(n)).Append("</p>\n");
        sb.Append("<div id=\"runs\"></div>\n<div id=\"profiles\"></div>\n<div id=\"grids\"></div>\n");
        foreach (var t in model.Tables) WriteTable(sb, t);
        sb.Append("<div id=\"td-errors\"></div>\n");
        sb.Append("<script type=\"application/json\" id=\"td-data\">").Append(Data(model)).Append("</script>\n");
        foreach (var a in (string[])["chart.umd.min.js", "chartjs-chart-matrix.min.js", "chartjs-plugin-annotation.min.js"])
            sb.Append("<script>").Append(Asset(a)).Append("</script>\n");
        sb.Append("<script>").Append(Script).Append("</script>\n</body></html>\n");
        return sb.ToString();
    }

    /// <summary>
    /// The report's findings, notes and tables as an HTML fragment with its own scoped style and no script (for
    /// notebooks, which show HTML inline; charts need the full page of <see cref="Render"/>).
    /// </summary>
    public static string Fragment(ReportModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var sb = new StringBuilder();
        sb.Append("<div class=\"torchdoctor\"><style>").Append(FragmentCss).Append("</style>");
        sb.Append("<h3>").Append(H(model.Title)).Append("</h3>");
        if (model.Subtitle is not null) sb.Append("<p class=\"sub\">").Append(H(model.Subtitle)).Append("</p>");
        WriteFindings(sb, model.Findings);
        foreach (var n in model.Notes) sb.Append("<p class=\"note\">").Append(H(n)).Append("</p>\n");
        foreach (var t in model.Tables) WriteTable(sb, t);
        sb.Append("</div>");
        return sb.ToString();
    }

    private const string FragmentCss = """
        .torchdoctor .finding{border:1px solid #dde3ea;border-left:5px solid #1565c0;border-radius:6px;padding:6px 10px;margin:6px 0}
        .torchdoctor .finding.error{border-left-color:#c62828}.torchdoctor .finding.warning{border-left-color:#b26a00}
        .torchdoctor .badge{display:inline-block;color:#fff;border-radius:10px;padding:0 8px;font-size:12px;text-transform:uppercase;background:#1565c0}
        .torchdoctor .badge.error{background:#c62828}.torchdoctor .badge.warning{background:#b26a00}
        .torchdoctor .fix{background:#f1f8e9;color:#1d232a;padding:4px 8px;border-radius:4px}.torchdoctor .ok{color:#2e7d32;font-weight:600}
        .torchdoctor .sub,.torchdoctor .note{color:#5f6b76}.torchdoctor table.data td,.torchdoctor table.data th{text-align:left;white-space:nowrap}
        """;

    private static void WriteFindings(StringBuilder sb, IReadOnlyList<Finding> findings)
    {
        sb.Append("<section id=\"findings\"><h2>Findings</h2>\n");
        if (findings.Count == 0) { sb.Append("<p class=\"ok\">No findings.</p></section>\n"); return; }
        var counts = findings.GroupBy(f => f.Severity).OrderByDescending(g => g.Key).Select(g => $"{g.Count()} {g.Key.ToString().ToLowerInvariant()}");
        sb.Append("<p>").Append(H(string.Join(", ", counts))).Append("</p>\n");
        foreach (var f in findings.OrderByDescending(f => f.Severity))
        {
            var sev = f.Severity.ToString().ToLowerInvariant();
            sb.Append("<article class=\"finding ").Append(sev).Append("\"><div class=\"head\"><span class=\"badge ").Append(sev).Append("\">").Append(sev).Append("</span> <b>")
              .Append(H(f.Code)).Append("</b> <code>").Append(H(f.Slug)).Append("</code>");
            if (f.Module is not null) sb.Append(" at <code>").Append(H(f.Module)).Append("</code>");
            if (f.Step is { } s) sb.Append(" · step ").Append(s);
            sb.Append("</div><p>").Append(H(f.Message)).Append("</p>");
            if (f.Evidence.Count > 0)
            {
                sb.Append("<table class=\"evidence\">");
                foreach (var (k, v) in f.Evidence) sb.Append("<tr><th>").Append(H(k)).Append("</th><td>").Append(H(v)).Append("</td></tr>");
                sb.Append("</table>");
            }
            sb.Append("<p class=\"fix\"><b>Fix:</b> ").Append(H(f.Advice)).Append("</p></article>\n");
        }
        sb.Append("</section>\n");
    }

    private static void WriteTable(StringBuilder sb, ReportTable t)
    {
        sb.Append("<section class=\"table\"><h2>").Append(H(t.Title)).Append("</h2><div class=\"scroll\"><table class=\"data\"><thead><tr>");
        foreach (var h in t.Headers) sb.Append("<th>").Append(H(h)).Append("</th>");
        sb.Append("</tr></thead><tbody>\n");
        foreach (var row in t.Rows)
        {
            sb.Append("<tr>");
            foreach (var c in row) sb.Append("<td>").Append(H(c)).Append("</td>");
            sb.Append("</tr>\n");
        }
        sb.Append("</tbody></table></div></section>\n");
    }

    private static string Data(ReportModel model)
    {
        using var ms = new MemoryStream();
        // Default encoder: <, >, & are escaped, so the JSON cannot close its <script> element.
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteStartArray("runs");
            foreach (var r in model.Runs)
            {
                w.WriteStartObject();
                w.WriteString("name", r.Name);
                if (r.OverfittingOnset is { } o) w.WriteNumber("onset", o);
                Series(w, "loss", r.Loss);
                Series(w, "accuracy", r.Accuracy);
                Points(w, "lr", r.LearningRate);
                Points(w, "memory", r.MemoryMb);
                Points(w, "live", r.LiveTensors);
                Series(w, "dead", r.DeadFractions.ToDictionary(d => d.Module, d => d.Points));
                Heatmap(w, r.GradNorms);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("grids");
            foreach (var g in model.SampleGrids)
            {
                w.WriteStartObject();
                w.WriteString("title", g.Title);
                w.WriteNumber("c", g.Channels);
                w.WriteNumber("h", g.Height);
                w.WriteNumber("w", g.Width);
                w.WriteStartArray("items");
                foreach (var (label, px) in g.Items)
                {
                    w.WriteStartObject();
                    w.WriteString("label", label);
                    var bytes = px.Select(v => (byte)Math.Clamp(Math.Round(float.IsFinite(v) ? v * 255 : 0), 0, 255)).ToArray();
                    w.WriteBase64String("px", bytes);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("profiles");
            foreach (var p in model.Profiles)
            {
                w.WriteStartObject();
                w.WriteString("title", p.Title);
                w.WriteNumber("stepMs", Math.Round(p.StepMs, 4));
                w.WriteStartArray("modules");
                foreach (var (m, f, b) in p.Modules)
                {
                    w.WriteStartArray();
                    w.WriteStringValue(m);
                    Num(w, f);
                    Num(w, b);
                    w.WriteEndArray();
                }
                w.WriteEndArray();
                w.WriteStartArray("phases");
                foreach (var (name, msValue) in p.Phases)
                {
                    w.WriteStartArray();
                    w.WriteStringValue(name);
                    Num(w, msValue);
                    w.WriteEndArray();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private static void Num(Utf8JsonWriter w, double v)
    {
        if (double.IsFinite(v)) w.WriteNumberValue(Math.Round(v, 6) == 0 && v != 0 ? v : Math.Round(v, 6));
        else w.WriteNullValue();   // NaN/Inf: a gap in the line
    }

    private static void Points(Utf8JsonWriter w, string name, IReadOnlyList<ScalarPoint> s)
    {
        if (s.Count == 0) return;
        w.WriteStartArray(name);
        foreach (var p in Logs.LogCurveDetector.Bin(s, MaxPoints))
        {
            w.WriteStartArray();
            w.WriteNumberValue(p.Step);
            Num(w, p.Value);
            w.WriteEndArray();
        }
        w.WriteEndArray();
    }

    private static void Series(Utf8JsonWriter w, string name, IReadOnlyDictionary<string, IReadOnlyList<ScalarPoint>> series)
    {
        if (series.Count == 0) return;
        w.WriteStartObject(name);
        foreach (var (k, s) in series) Points(w, k, s);
        w.WriteEndObject();
    }

    private static void Heatmap(Utf8JsonWriter w, IReadOnlyList<(string Module, IReadOnlyList<ScalarPoint> Points)> grads)
    {
        if (grads.Count == 0) return;
        var steps = grads.SelectMany(g => g.Points.Select(p => p.Step)).Distinct().Order().ToList();
        // At most 200 columns: every k-th sampled step.
        int k = Math.Max(1, (steps.Count + 199) / 200);
        steps = steps.Where((_, i) => i % k == 0).ToList();
        w.WriteStartObject("grad");
        w.WriteStartArray("modules");
        foreach (var g in grads) w.WriteStringValue(g.Module);
        w.WriteEndArray();
        w.WriteStartArray("steps");
        foreach (var s in steps) w.WriteNumberValue(s);
        w.WriteEndArray();
        w.WriteStartArray("log10");
        foreach (var g in grads)
        {
            var byStep = new Dictionary<long, double>();
            foreach (var p in g.Points) byStep[p.Step] = p.Value;
            w.WriteStartArray();
            foreach (var s in steps)
                if (byStep.TryGetValue(s, out var v) && double.IsFinite(v) && v > 0) w.WriteNumberValue(Math.Round(Math.Log10(v), 3));
                else w.WriteNullValue();
            w.WriteEndArray();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private const string Css = """
        :root{--err:#c62828;--warn:#b26a00;--info:#1565c0;--ok:#2e7d32;--fg:#1d232a;--muted:#5f6b76;--line:#dde3ea}
        *{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);margin:0 auto;max-width:1200px;padding:16px 24px;background:#fafbfc}
        h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:24px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}h3{font-size:15px;margin:12px 0 6px}
        .sub{color:var(--muted);margin:2px 0}.note{color:var(--muted);font-style:italic}.ok{color:var(--ok);font-weight:600}
        .finding{background:#fff;border:1px solid var(--line);border-left:5px solid var(--info);border-radius:6px;padding:8px 12px;margin:8px 0}
        .finding.error{border-left-color:var(--err)}.finding.warning{border-left-color:var(--warn)}.finding p{margin:6px 0}
        .badge{display:inline-block;color:#fff;border-radius:10px;padding:0 8px;font-size:12px;text-transform:uppercase;background:var(--info)}
        .badge.error{background:var(--err)}.badge.warning{background:var(--warn)}
        .fix{background:#f1f8e9;padding:6px 8px;border-radius:4px}code{background:#eef1f4;padding:0 3px;border-radius:3px}
        table.evidence{border-collapse:collapse;font-size:13px}table.evidence th{text-align:left;color:var(--muted);font-weight:normal;padding:1px 12px 1px 0}
        table.data{border-collapse:collapse;font-size:13px;background:#fff}table.data th,table.data td{border:1px solid var(--line);padding:3px 8px;text-align:left;white-space:nowrap}
        .scroll{overflow-x:auto}.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:12px}
        .chart{background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px;position:relative;height:300px}.chart.tall{height:380px}
        .grid{display:flex;flex-wrap:wrap;gap:8px}.cell{text-align:center;font-size:12px;color:var(--muted)}.cell canvas{image-rendering:pixelated;border:1px solid var(--line);display:block}
        #td-errors{color:var(--err)}
        """;

    private const string Script = """
        (function(){
        'use strict';
        var data=JSON.parse(document.getElementById('td-data').textContent);
        var charts=0, palette=['#1565c0','#c62828','#2e7d32','#6a1b9a','#ef6c00','#00838f','#5d4037','#ad1457'];
        Chart.defaults.animation=false; Chart.defaults.font.size=12;
        function el(tag,cls,parent,text){var e=document.createElement(tag);if(cls)e.className=cls;if(text!=null)e.textContent=text;if(parent)parent.appendChild(e);return e;}
        function box(parent,title,tall){var d=el('div','chart'+(tall?' tall':''),parent);d.setAttribute('data-chart',title);var c=el('canvas',null,d);return c;}
        function line(parent,title,series,opts){
          opts=opts||{};var keys=Object.keys(series||{});if(!keys.length)return;
          var ds=keys.map(function(k,i){return{label:k,data:series[k].map(function(p){return{x:p[0],y:p[1]};}),borderColor:palette[i%palette.length],backgroundColor:palette[i%palette.length],pointRadius:series[k].length>60?0:2,borderWidth:1.5,spanGaps:false};});
          var ann={};if(opts.onset!=null){ann.onset={type:'line',xMin:opts.onset,xMax:opts.onset,borderColor:'#b26a00',borderWidth:2,borderDash:[6,4],label:{display:true,content:'overfitting from step '+opts.onset,position:'start',backgroundColor:'#b26a00'}};}
          new Chart(box(parent,title),{type:'line',data:{datasets:ds},options:{responsive:true,maintainAspectRatio:false,parsing:true,
            plugins:{title:{display:true,text:title},annotation:{annotations:ann},legend:{position:'bottom'}},
            scales:{x:{type:'linear',title:{display:true,text:'step'}},y:{type:opts.log?'logarithmic':'linear',title:{display:!!opts.y,text:opts.y||''}}}}});
          charts++;
        }
        function color(t){var a=[[68,1,84],[59,82,139],[33,145,140],[94,201,98],[253,231,37]];t=Math.max(0,Math.min(1,t))*(a.length-1);var i=Math.min(a.length-2,Math.floor(t)),f=t-i;
          return 'rgb('+a[i].map(function(v,j){return Math.round(v+(a[i+1][j]-v)*f);}).join(',')+')';}
        function heatmap(parent,g){
          var vals=[],lo=Infinity,hi=-Infinity;
          g.log10.forEach(function(row,y){row.forEach(function(v,x){if(v!=null){lo=Math.min(lo,v);hi=Math.max(hi,v);vals.push({x:x,y:y,v:v});}});});
          if(!vals.length)return;var span=(hi-lo)||1,nx=g.steps.length,ny=g.modules.length;
          var c=box(parent,'Gradient norm per layer (log10)',true);
          new Chart(c,{type:'matrix',data:{datasets:[{label:'log10 ‖grad‖',data:vals,
            backgroundColor:function(ctx){var d=ctx.dataset.data[ctx.dataIndex];return d?color((d.v-lo)/span):'#fff';},
            width:function(ctx){var a=ctx.chart.chartArea;return a?Math.max(1,(a.right-a.left)/nx-0.5):4;},
            height:function(ctx){var a=ctx.chart.chartArea;return a?Math.max(1,(a.bottom-a.top)/ny-0.5):4;}}]},
            options:{responsive:true,maintainAspectRatio:false,plugins:{legend:{display:false},title:{display:true,text:'Gradient L2 norm per layer over steps (log10; '+lo.toFixed(1)+' dark … '+hi.toFixed(1)+' bright)'},
              tooltip:{callbacks:{title:function(){return '';},label:function(ctx){var d=ctx.raw;return g.modules[d.y]+' @ step '+g.steps[d.x]+': 1e'+d.v.toFixed(2);}}}},
              scales:{x:{type:'linear',offset:false,min:-0.5,max:nx-0.5,title:{display:true,text:'step'},
                        afterBuildTicks:function(ax){var k=Math.max(1,Math.ceil(nx/12)),t=[];for(var i=0;i<nx;i+=k)t.push({value:i});ax.ticks=t;},
                        ticks:{callback:function(v){var i=Math.round(v);return g.steps[i]!=null?String(g.steps[i]):'';}}},
                      y:{type:'linear',reverse:true,min:-0.5,max:ny-0.5,
                        afterBuildTicks:function(ax){ax.ticks=g.modules.map(function(_,i){return{value:i};});},
                        ticks:{autoSkip:false,callback:function(v){var i=Math.round(v);return g.modules[i]!=null?g.modules[i]:'';}}}}}});
          charts++;
        }
        var runsDiv=document.getElementById('runs');
        if(data.runs.length){el('h2',null,runsDiv,'Charts');}
        data.runs.forEach(function(r){
          el('h3',null,runsDiv,r.name);var grid=el('div','charts',runsDiv);
          if(r.loss)line(grid,'Loss',r.loss,{onset:r.onset,y:'loss'});
          if(r.accuracy)line(grid,'Accuracy',r.accuracy,{y:'accuracy'});
          if(r.lr)line(grid,'Learning rate',{lr:r.lr},{y:'lr'});
          if(r.grad)heatmap(grid,r.grad);
          if(r.dead)line(grid,'Dead-unit fraction (ReLU)',r.dead,{y:'fraction'});
          if(r.memory||r.live)memory(grid,r);
        });
        function memory(parent,r){
          var ds=[],scales={x:{type:'linear',title:{display:true,text:'step'}}};
          if(r.live){ds.push({label:'live tensors',yAxisID:'y',data:r.live.map(function(p){return{x:p[0],y:p[1]};}),borderColor:palette[0],backgroundColor:palette[0],pointRadius:r.live.length>60?0:2,borderWidth:1.5});
            scales.y={type:'linear',position:'left',title:{display:true,text:'live tensors'}};}
          if(r.memory){ds.push({label:'resident MiB',yAxisID:'y1',data:r.memory.map(function(p){return{x:p[0],y:p[1]};}),borderColor:palette[1],backgroundColor:palette[1],pointRadius:r.memory.length>60?0:2,borderWidth:1.5});
            scales.y1={type:'linear',position:r.live?'right':'left',grid:{drawOnChartArea:!r.live},title:{display:true,text:'MiB'}};}
          new Chart(box(parent,'Memory timeline'),{type:'line',data:{datasets:ds},options:{responsive:true,maintainAspectRatio:false,
            plugins:{title:{display:true,text:'Memory timeline (live tensors every step, resident memory at sampled steps)'},legend:{position:'bottom'}},scales:scales}});
          charts++;
        }
        var profDiv=document.getElementById('profiles');
        (data.profiles||[]).forEach(function(p){
          el('h2',null,profDiv,'Profiler: '+p.title);var grid=el('div','charts',profDiv);
          if(p.modules.length){
            var c=box(grid,'Profiler: self time per module',true);
            new Chart(c,{type:'bar',data:{labels:p.modules.map(function(m){return m[0];}),datasets:[
                {label:'forward self ms',data:p.modules.map(function(m){return m[1];}),backgroundColor:palette[0]},
                {label:'backward self ms',data:p.modules.map(function(m){return m[2];}),backgroundColor:palette[4]}]},
              options:{indexAxis:'y',responsive:true,maintainAspectRatio:false,plugins:{title:{display:true,text:'Self time per module and step (ms), most expensive first'},legend:{position:'bottom'}},
                scales:{x:{stacked:true,title:{display:true,text:'ms per step'}},y:{stacked:true,ticks:{autoSkip:false}}}}});
            charts++;
          }
          if(p.phases.length){
            var c2=box(grid,'Profiler: step phases');
            new Chart(c2,{type:'bar',data:{labels:['step'],datasets:p.phases.map(function(ph,i){return{label:ph[0],data:[ph[1]],backgroundColor:palette[i%palette.length]};})},
              options:{indexAxis:'y',responsive:true,maintainAspectRatio:false,plugins:{title:{display:true,text:'Step phases (ms per step; step '+p.stepMs.toFixed(2)+' ms)'},legend:{position:'bottom'}},
                scales:{x:{stacked:true,title:{display:true,text:'ms'}},y:{stacked:true}}}});
            charts++;
          }
        });
        var gridsDiv=document.getElementById('grids');
        data.grids.forEach(function(g){
          el('h2',null,gridsDiv,g.title);var wrap=el('div','grid',gridsDiv);wrap.setAttribute('data-chart','samples');
          g.items.forEach(function(it){
            var cell=el('div','cell',wrap);var cv=el('canvas',null,cell);cv.width=g.w;cv.height=g.h;var s=Math.max(1,Math.floor(64/Math.max(g.w,g.h)));cv.style.width=(g.w*s)+'px';cv.style.height=(g.h*s)+'px';
            var bin=atob(it.px),ctx=cv.getContext('2d'),img=ctx.createImageData(g.w,g.h),n=g.w*g.h;
            for(var i=0;i<n;i++){var r=bin.charCodeAt(i),gg=g.c===3?bin.charCodeAt(n+i):r,b=g.c===3?bin.charCodeAt(2*n+i):r;img.data[4*i]=r;img.data[4*i+1]=gg;img.data[4*i+2]=b;img.data[4*i+3]=255;}
            ctx.putImageData(img,0,0);el('div',null,cell,it.label);
          });
          charts++;
        });
        document.body.setAttribute('data-charts',String(charts));
        document.body.setAttribute('data-errors',String(window.__tdErrors.length));
        if(window.__tdErrors.length)document.getElementById('td-errors').textContent='Script errors: '+window.__tdErrors.join('; ');
        })();
        """;
}
