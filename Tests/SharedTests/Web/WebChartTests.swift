import Foundation
import Testing

@testable import Shared

@Suite struct WebChartTests {
    /// The `height` of every `<rect class="bar">`, in order.
    func barHeights(_ svg: SafeHTML) throws -> [Double] {
        let regex = try Regex(#"<rect class="bar" x="[0-9.]+" y="[0-9.]+" width="[0-9.]+" height="([0-9.]+)"/>"#)
        return svg.html.matches(of: regex).map { Double($0.output[1].substring!)! }
    }

    @Test func barsAreProportionalWithAMaxLabelAndTimes() throws {
        let points = WebFixtures.dayOfBars
        let svg = SVGChart.bars(points, label: "Occurrences per hour")
        let heights = try barHeights(svg)
        #expect(heights.count == 24)
        let plot = SVGChart.BarLayout.plotHeight
        #expect(heights[20] == plot)  // the peak fills the plot
        for (point, height) in zip(points, heights) {
            let proportional = Double(point.count) / 1200 * plot
            #expect(abs(height - (point.count == 0 ? 0 : max(SVGChart.BarLayout.minimumBar, proportional))) < 0.01)
        }
        #expect(svg.html.contains(#"<text class="axis-label y-max" x="38" y="14" text-anchor="end">1.2k</text>"#))
        #expect(svg.html.contains(#">0</text>"#))
        // First, middle and last times in UTC; a tooltip on each bar.
        #expect(svg.html.contains(#"text-anchor="start">14:00</text>"#))
        #expect(svg.html.contains(#"text-anchor="middle">02:00</text>"#))
        #expect(svg.html.contains(#"text-anchor="end">13:00 UTC</text>"#))
        #expect(svg.html.components(separatedBy: "<title>").count - 1 == 24)
        #expect(svg.html.contains("<title>2025-05-03 10:00:00 UTC: 1,200 occurrences</title>"))
        #expect(svg.html.contains("<title>2025-05-02 15:00:00 UTC: 1 occurrence</title>"))
        #expect(
            svg.html.hasPrefix(
                #"<svg class="chart-bars" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 800 220" preserveAspectRatio="xMinYMin meet" role="img" aria-label="Occurrences per hour">"#
            )
        )
        #expect(svg.html.hasSuffix("</svg>"))
    }

    @Test func overSeveralDaysTheAxisShowsDates() {
        let points = (0..<7).map { (WebFixtures.now.addingTimeInterval(Double($0 - 7) * 86400), Int64($0)) }
        let svg = SVGChart.bars(points, label: "per day").html
        #expect(svg.contains(">Apr 26</text>"))
        #expect(svg.contains(">May 2 UTC</text>"))
    }

    @Test func barsBelowThePeakAreExactlyProportional() throws {
        let points = [10, 5, 1, 0].enumerated().map { (WebFixtures.now.addingTimeInterval(Double($0.offset) * 60), Int64($0.element)) }
        let plot = SVGChart.BarLayout.plotHeight
        #expect(try barHeights(SVGChart.bars(points, label: "x")) == [plot, plot / 2, plot / 10, 0])
    }

    @Test func zeroSeriesIsFlat() throws {
        let points = (0..<10).map { (WebFixtures.now.addingTimeInterval(Double($0) * 60), Int64(0)) }
        let svg = SVGChart.bars(points, label: "nothing")
        #expect(try barHeights(svg) == Array(repeating: 0, count: 10))
        #expect(svg.html.contains(#"y-max" x="38" y="14" text-anchor="end">0</text>"#))
        #expect(!svg.html.contains("nan") && !svg.html.contains("inf"))

        let empty = SVGChart.bars([], label: "no points").html
        #expect(empty.contains(#"class="axis""#))
        #expect(!empty.contains(#"class="bar""#))
    }

    @Test func negativeCountsDrawNothingBelowTheAxis() throws {
        let svg = SVGChart.bars([(WebFixtures.now, -5), (WebFixtures.now.addingTimeInterval(60), 10)], label: "x")
        #expect(try barHeights(svg) == [0, SVGChart.BarLayout.plotHeight])
    }

    @Test func chartsAreDeterministicAndEscaped() {
        let label = "<script>alert(1)</script> & \"quotes\""
        let first = SVGChart.bars(WebFixtures.dayOfBars, label: label)
        #expect(first == SVGChart.bars(WebFixtures.dayOfBars, label: label))
        #expect(!first.html.contains("<script>"))
        #expect(first.html.contains("aria-label=\"&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;\""))
        let spark = SVGChart.sparkline([1, 2, 3], label: label)
        #expect(spark == SVGChart.sparkline([1, 2, 3], label: label))
        #expect(!spark.html.contains("<script>"))
        // Colour comes from classes: no inline style, no fill colour in the markup.
        for svg in [first.html, spark.html] {
            #expect(!svg.contains("style="))
            #expect(!svg.contains("fill="))
        }
    }

    @Test func sparklineGeometry() {
        let svg = SVGChart.sparkline([0, 5, 10, 5], label: "s").html
        #expect(svg.contains(#"viewBox="0 0 100 24" preserveAspectRatio="none""#))
        #expect(svg.contains(#"<polyline class="spark-line" points="0,23 33.33,12 66.67,1 100,12"/>"#))
        #expect(svg.contains(#"<polygon class="spark-area" points="0,24 0,23 33.33,12 66.67,1 100,12 100,24"/>"#))
        #expect(svg.contains("<title>s: 20 in all, at most 10 at once</title>"))

        #expect(SVGChart.sparkline([0, 0, 0], label: "z").html.contains(#"points="0,23 50,23 100,23""#))
        #expect(SVGChart.sparkline([], label: "e").html.contains(#"points="0,23 100,23""#))
        #expect(SVGChart.sparkline([7], label: "one").html.contains(#"points="0,1 100,1""#))
    }

    @Test func coordinatesIgnoreLocale() {
        #expect(SVGChart.number(0) == "0")
        #expect(SVGChart.number(1.5) == "1.5")
        #expect(SVGChart.number(33.333) == "33.33")
        #expect(SVGChart.number(0.05) == "0.05")
        #expect(SVGChart.number(-2.25) == "-2.25")
        #expect(SVGChart.number(99.999) == "100")
    }
}
