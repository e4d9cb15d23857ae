import Foundation

/// Charts drawn on the server as inline SVG: no script, no image request, and the same bytes
/// for the same data. Geometry is in attributes; colour comes from CSS classes (`spark-line`,
/// `bar`, `axis`, ...), so the stylesheet's light and dark themes apply and the CSP, which allows
/// no inline style, has nothing to block. Every text is escaped.
public enum SVGChart {
    /// Sparkline geometry: a fixed viewBox that CSS stretches to the cell.
    static let sparkWidth = 100.0
    static let sparkHeight = 24.0

    /// A small line and area for a series of counts (oldest first), for a table cell.
    /// An empty or all-zero series is a flat line at the bottom.
    public static func sparkline(_ counts: [Int64], label: String) -> SafeHTML {
        let values = counts.map { max(0, $0) }
        let peak = values.max() ?? 0
        let total = values.reduce(0, &+)
        let top = 1.0, bottom = sparkHeight - 1
        func y(_ value: Int64) -> Double { peak == 0 ? bottom : bottom - Double(value) / Double(peak) * (bottom - top) }
        var points: [(Double, Double)]
        switch values.count {
        case 0: points = [(0, bottom), (sparkWidth, bottom)]
        case 1: points = [(0, y(values[0])), (sparkWidth, y(values[0]))]
        default:
            let step = sparkWidth / Double(values.count - 1)
            points = values.enumerated().map { (Double($0.offset) * step, y($0.element)) }
        }
        let line = points.map { "\(number($0.0)),\(number($0.1))" }.joined(separator: " ")
        let area = "0,\(number(sparkHeight)) \(line) \(number(sparkWidth)),\(number(sparkHeight))"
        let title = "\(label): \(WebFormat.grouped(total)) in all, at most \(WebFormat.grouped(peak)) at once"
        return SafeHTML(
            trusted: #"<svg class="sparkline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \#(number(sparkWidth)) \#(number(sparkHeight))" "#
                + #"preserveAspectRatio="none" role="img" aria-label="\#(HTMLEscape.text(title))"><title>\#(HTMLEscape.text(title))</title>"#
                + #"<polygon class="spark-area" points="\#(area)"/><polyline class="spark-line" points="\#(line)"/></svg>"#
        )
    }

    /// Bar chart geometry: the viewBox and the plot area inside it (room for the labels).
    struct BarLayout {
        static let width = 800.0, height = 220.0
        static let plotLeft = 44.0, plotRight = 792.0, plotTop = 10.0, plotBottom = 196.0
        static var plotWidth: Double { plotRight - plotLeft }
        static var plotHeight: Double { plotBottom - plotTop }
        static let minimumBar = 1.5
    }

    /// Occurrences over time: one bar per point (oldest first), heights proportional to the
    /// count (at least `minimumBar` when above zero, so that one occurrence beside a peak still
    /// shows), the largest count labelled on the y axis, times in UTC on the x axis, and a
    /// `<title>` tooltip per bar. An all-zero series draws no bar taller than zero.
    public static func bars(_ points: [(time: Date, count: Int64)], label: String) -> SafeHTML {
        typealias L = BarLayout
        let counts = points.map { max(0, $0.count) }
        let peak = counts.max() ?? 0
        var svg = #"<svg class="chart-bars" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \#(number(L.width)) \#(number(L.height))" "#
        svg += #"preserveAspectRatio="xMinYMin meet" role="img" aria-label="\#(HTMLEscape.text(label))">"#
        // Grid at the peak, baseline at zero, and their labels.
        svg += line("grid", y: L.plotTop) + line("axis", y: L.plotBottom)
        svg += text(peak == 0 ? "0" : WebFormat.compact(peak), x: L.plotLeft - 6, y: L.plotTop + 4, anchor: "end", cssClass: "axis-label y-max")
        if peak > 0 { svg += text("0", x: L.plotLeft - 6, y: L.plotBottom + 4, anchor: "end", cssClass: "axis-label y-zero") }
        guard !points.isEmpty else { return SafeHTML(trusted: svg + "</svg>") }

        let slot = L.plotWidth / Double(points.count)
        let gap = slot >= 4 ? slot * 0.2 : 0
        for (index, point) in points.enumerated() {
            let count = counts[index]
            let height = count == 0 ? 0 : max(L.minimumBar, Double(count) / Double(peak) * L.plotHeight)
            let x = L.plotLeft + Double(index) * slot
            let tooltip = "\(WebFormat.absolute(point.time)): \(WebFormat.grouped(count)) \(count == 1 ? "occurrence" : "occurrences")"
            svg += #"<g class="bar-slot"><title>\#(HTMLEscape.text(tooltip))</title>"#
            // The hit area spans the plot's height, so that a short bar's tooltip is easy to reach.
            svg += rect("bar-hit", x: x, y: L.plotTop, width: slot, height: L.plotHeight)
            svg += rect("bar", x: x + gap / 2, y: L.plotBottom - height, width: slot - gap, height: height) + "</g>"
        }
        // Time labels under the first, middle and last bars; the outer ones aligned to the plot's edges.
        let overDays = points[points.count - 1].time.timeIntervalSince(points[0].time) > 36 * 3600
        let labelled = Array(Set(points.count >= 3 ? [0, points.count / 2, points.count - 1] : Array(0..<points.count))).sorted()
        for index in labelled {
            let time = points[index].time
            var label = overDays ? WebFormat.monthDay(time) : WebFormat.clock(time)
            if index == points.count - 1 { label += " UTC" }
            let y = L.height - 6
            if labelled.count > 1, index == 0 {
                svg += text(label, x: L.plotLeft, y: y, anchor: "start", cssClass: "axis-label x-label")
            } else if labelled.count > 1, index == points.count - 1 {
                svg += text(label, x: L.plotRight, y: y, anchor: "end", cssClass: "axis-label x-label")
            } else {
                svg += text(label, x: L.plotLeft + (Double(index) + 0.5) * slot, y: y, anchor: "middle", cssClass: "axis-label x-label")
            }
        }
        return SafeHTML(trusted: svg + "</svg>")
    }

    private static func line(_ cssClass: String, y: Double) -> String {
        let (x1, x2, y) = (number(BarLayout.plotLeft), number(BarLayout.plotRight), number(y))
        return #"<line class="\#(cssClass)" x1="\#(x1)" y1="\#(y)" x2="\#(x2)" y2="\#(y)"/>"#
    }

    private static func rect(_ cssClass: String, x: Double, y: Double, width: Double, height: Double) -> String {
        #"<rect class="\#(cssClass)" x="\#(number(x))" y="\#(number(y))" width="\#(number(width))" height="\#(number(height))"/>"#
    }

    static func text(_ text: String, x: Double, y: Double, anchor: String, cssClass: String) -> String {
        #"<text class="\#(cssClass)" x="\#(number(x))" y="\#(number(y))" text-anchor="\#(anchor)">\#(HTMLEscape.text(text))</text>"#
    }

    /// A coordinate with at most two decimals and no trailing zeros, independent of locale.
    static func number(_ value: Double) -> String {
        guard value.isFinite, abs(value) < 1e15 else { return "0" }  // never a trap, whatever the data
        let hundredths = Int64((value * 100).rounded())
        let sign = hundredths < 0 ? "-" : ""
        let whole = hundredths.magnitude / 100, fraction = hundredths.magnitude % 100
        if fraction == 0 { return "\(sign)\(whole)" }
        return fraction % 10 == 0 ? "\(sign)\(whole).\(fraction / 10)" : "\(sign)\(whole).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
