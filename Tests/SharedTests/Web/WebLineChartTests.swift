import Foundation
import Testing

@testable import Shared

/// The line chart the hub's graph page draws: one line per series, the legend in the same
/// colours, round y ticks, UTC times, gaps left open, hostile names escaped, and the numbers
/// it writes.
@Suite struct WebLineChartTests {
    static let start = WebFixtures.now.addingTimeInterval(-3600)  // 13:00 UTC
    static let end = WebFixtures.now  // 14:00 UTC

    /// A point a minute over the hour: `value(minute)`.
    static func series(_ name: String, _ value: (Int) -> Double) -> ChartSeries {
        ChartSeries(name: name, points: (0...60).map { (start.addingTimeInterval(Double($0) * 60), value($0)) })
    }

    func count(_ text: String, in html: String) -> Int { html.components(separatedBy: text).count - 1 }

    /// The `text` of each `<text class="axis-label …">` whose class contains `cssClass`, in order.
    func labels(_ cssClass: String, in html: String) throws -> [String] {
        let regex = try Regex(#"<text class="axis-label \#(cssClass)"[^>]*>([^<]*)</text>"#)
        return html.matches(of: regex).map { String($0.output[1].substring!) }
    }

    @Test func oneLinePerSeriesWithItsColourAndTitle() throws {
        let svg = SVGChart.lines(
            [Self.series("a", { Double($0) }), Self.series("b", { Double(60 - $0) }), Self.series("c", { _ in 30 })], from: Self.start, to: Self.end,
            step: 60, label: "three lines"
        ).html
        #expect(svg.hasPrefix(#"<svg class="chart-lines" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 800 260" preserveAspectRatio="xMinYMin meet" role="img" aria-label="three lines">"#))
        #expect(svg.hasSuffix("</svg>"))
        #expect(count("<polyline ", in: svg) == 3)
        #expect(svg.contains(#"<g class="series series-0"><title>a</title><polyline points="56,230 "#))
        #expect(svg.contains(#"<g class="series series-1"><title>b</title>"#))
        #expect(svg.contains(#"<g class="series series-2"><title>c</title>"#))
        // The first line runs from the bottom left to the top right corner of the plot.
        #expect(svg.contains(#" 788,10"/></g>"#))
        // No inline style or colour: the classes colour everything.
        #expect(!svg.contains("style=") && !svg.contains("fill=") && !svg.contains("stroke="))
    }

    @Test func axesHaveRoundTicksAndUTCTimes() throws {
        let svg = SVGChart.lines([Self.series("a", { Double($0) * 20 })], from: Self.start, to: Self.end, step: 60, label: "x").html
        // 0 to 1,200: steps of 500 from zero.
        #expect(try labels("y-label", in: svg) == ["0", "500", "1000", "1500"])
        // Every 10 minutes; the ticks at the plot's edges (13:00, 14:00) have no label.
        #expect(try labels("x-label", in: svg) == ["13:10", "13:20", "13:30", "13:40", "13:50"])
        #expect(try labels("time-zone", in: svg) == ["UTC"])
        #expect(count(#"<line class="grid time-grid""#, in: svg) == 7)
        #expect(count(#"<line class="axis""#, in: svg) == 1)
    }

    @Test func timeLabelsFollowTheRange() throws {
        func times(_ span: TimeInterval) throws -> [String] {
            try labels("x-label", in: SVGChart.lines([], from: Self.end.addingTimeInterval(-span), to: Self.end, step: 60, label: "x").html)
        }
        #expect(try times(300) == ["13:56", "13:57", "13:58", "13:59"])
        #expect(try times(60) == ["13:59:10", "13:59:20", "13:59:30", "13:59:40", "13:59:50"])
        // A day: every 6 hours, midnight as its date.
        #expect(try times(86400) == ["18:00", "May 3", "06:00", "12:00"])
        #expect(try times(7 * 86400) == ["Apr 28", "Apr 30", "May 2"])
        #expect(try times(30 * 86400).allSatisfy { $0.hasPrefix("Apr") || $0.hasPrefix("May") })
    }

    @Test func yTicksForSmallAndFarFromZeroValues() {
        let rates = SVGChart.ValueAxis([0.013, 0.05, 0.0])
        #expect(rates.labels == ["0", "0.01", "0.02", "0.03", "0.04", "0.05"])
        // Timestamps: not drawn from zero, which would flatten them.
        let seconds = SVGChart.ValueAxis([1_746_280_000, 1_746_280_800])
        #expect(seconds.low == 1_746_280_000 && seconds.high == 1_746_280_800)
        #expect(seconds.labels.first == "1746.28M" && seconds.labels.count == 5)
        // A flat line gets room around it; nothing at all is 0 to 1.
        #expect(SVGChart.ValueAxis([5, 5]).labels == ["4.4", "4.6", "4.8", "5", "5.2", "5.4", "5.6"])
        #expect(SVGChart.ValueAxis([]).labels == ["0", "0.2", "0.4", "0.6", "0.8", "1"])
        #expect(SVGChart.ValueAxis([-3, -10]).labels == ["-10", "-8", "-6", "-4", "-2", "0"])
        let finite = SVGChart.ValueAxis([.nan, .infinity, 2])
        #expect(finite.low < 2 && finite.high > 2)
        #expect(SVGChart.ValueAxis([1000, 25_000]).labels == ["0", "5k", "10k", "15k", "20k", "25k"])
        #expect(SVGChart.ValueAxis([-1e308, 1e308]).ticks == [-1e308, 1e308])
        // Labels never collide: decimals as the step needs them.
        let close = SVGChart.ValueAxis([1000, 1100])
        #expect(Set(close.labels).count == close.labels.count, "\(close.labels)")
    }

    @Test func gapsAndLonePointsAreNotJoined() {
        // Absent from minute 20 to 40 (no points), NaN at minute 50, and alone at minute 55.
        let points = (0...60).compactMap { minute -> (time: Date, value: Double)? in
            if (21..<40).contains(minute) || (54...56).contains(minute) && minute != 55 { return nil }
            return (Self.start.addingTimeInterval(Double(minute) * 60), minute == 50 ? .nan : 1)
        }
        let svg = SVGChart.lines([ChartSeries(name: "gappy", points: points)], from: Self.start, to: Self.end, step: 60, label: "x").html
        // 0–20, 40–49, 51–53, then 55 alone (a dot), 57–60.
        #expect(count("<polyline ", in: svg) == 4)
        #expect(count("<circle ", in: svg) == 1)
        #expect(!svg.contains("nan") && !svg.contains("inf"))
        // Without a step, only the NaN splits it.
        #expect(SVGChart.runs(points, step: 0).count == 2)
    }

    @Test func manyPointsAreThinnedToThePixels() {
        let dense = ChartSeries(
            name: "dense", points: (0..<11_000).map { (Self.start.addingTimeInterval(Double($0) * 3600 / 11_000), sin(Double($0) / 50)) })
        let svg = SVGChart.lines([dense], from: Self.start, to: Self.end, step: 3600 / 11_000, label: "x").html
        let coordinates = svg.components(separatedBy: ",").count - 1
        #expect(coordinates < 4 * 733, "\(coordinates) points drawn")
        #expect(coordinates > 700)
    }

    @Test func legendMatchesTheLinesAndCapsTheSeries() throws {
        let many = (0..<60).map { index in Self.series("s\(index)", { Double($0 + index) }) }
        let chart = SVGChart.lineChart(many, from: Self.start, to: Self.end, step: 60, caption: "sixty", label: "x", maxSeries: 50)
        #expect(chart.legend.count == 50)
        #expect(chart.legend[0] == LegendEntryView(name: "s0", colourClass: "series-0"))
        #expect(chart.legend[13] == LegendEntryView(name: "s13", colourClass: "series-3"))
        #expect(count("<polyline ", in: chart.svg.html) == 50)
        #expect(chart.hasNote && chart.note == "showing 50 of 60 series")

        let html = try WebTemplates().render("lineChart", chart).html
        #expect(html.contains(#"<figure class="chart line-chart"><figcaption>sixty</figcaption><div class="chart-scroll"><svg class="chart-lines""#))
        #expect(count(#"<li class="legend-entry">"#, in: html) == 50)
        #expect(html.contains(#"<li class="legend-entry"><span class="legend-swatch series-3" aria-hidden="true"></span><span class="legend-name mono">s13</span></li>"#))
        #expect(html.contains(#"<p class="chart-note">showing 50 of 60 series</p>"#))

        let few = SVGChart.lineChart(Array(many.prefix(2)), from: Self.start, to: Self.end, step: 60, caption: "two", label: "x")
        #expect(!few.hasNote)
        #expect(try !WebTemplates().render("lineChart", few).html.contains("chart-note"))
    }

    @Test func hostileNamesAreText() throws {
        let hostile = #"{env="<script>window.__pwned=1</script>", q="\"'&"}"#
        let chart = SVGChart.lineChart(
            [Self.series(hostile, { Double($0) })], from: Self.start, to: Self.end, step: 60, caption: hostile, label: WebFixtures.image)
        let html = try WebTemplates().render("lineChart", chart).html
        #expect(!html.contains("<script>"))
        #expect(!html.contains("<img"))
        #expect(html.contains("<title>{env=&quot;&lt;script&gt;window.__pwned=1&lt;/script&gt;&quot;, q=&quot;\\&quot;&#39;&amp;&quot;}</title>"))
        #expect(html.contains(#"aria-label="&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;""#))
        // Mustache's escaping of the legend and caption (it writes `&quot;` as `&quot;` too).
        #expect(html.contains(#"<span class="legend-name mono">{env=<wbr>&quot;&lt;script&gt;"#))
        #expect(html.contains("<figcaption>{env=&quot;&lt;script&gt;"))
    }

    @Test func degenerateInputDrawsWithoutTrapping() {
        let same = SVGChart.lines([Self.series("a", { _ in 1e300 })], from: Self.end, to: Self.end, step: 0, label: "x").html
        #expect(same.hasSuffix("</svg>"))
        let huge = SVGChart.lines([Self.series("a", { Double($0) * 1e307 })], from: Self.start, to: Self.end, step: 60, label: "x").html
        #expect(huge.contains("<polyline"))
        #expect(SVGChart.number(.nan) == "0" && SVGChart.number(.infinity) == "0")
    }

    @Test func valuesAreReadable() {
        #expect(WebFormat.number(12345) == "12345")
        #expect(WebFormat.number(-3) == "-3")
        #expect(WebFormat.number(0) == "0")
        #expect(WebFormat.number(1.5) == "1.5")
        #expect(WebFormat.number(1.0 / 60) == "0.0166667")
        #expect(WebFormat.number(1234.5678) == "1234.57")
        #expect(WebFormat.number(0.0001) == "0.0001")
        #expect(WebFormat.number(1.5e-9) == "1.5e-09")
        #expect(WebFormat.number(2.5e20) == "2.5e+20")
        #expect(WebFormat.number(1e15) == "1e+15")
        #expect(WebFormat.number(.nan) == "NaN")
        #expect(WebFormat.number(.infinity) == "+Inf")
        #expect(WebFormat.number(-.infinity) == "-Inf")
        #expect(WebFormat.fixed(2.5, decimals: 2) == "2.5")
        #expect(WebFormat.fixed(-0.0001, decimals: 2) == "0")
        #expect(WebFormat.fixed(0.05, decimals: 2) == "0.05")
        #expect(WebFormat.fixed(-12.345, decimals: 1) == "-12.3")
    }
}
