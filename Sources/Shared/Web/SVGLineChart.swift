import Foundation

/// One line of a line chart: the text its legend entry shows and its points, oldest first.
/// A value that is not finite (NaN, ±Inf) is a gap.
public struct ChartSeries: Sendable {
    public var name: String
    public var points: [(time: Date, value: Double)]

    public init(name: String, points: [(time: Date, value: Double)]) {
        self.name = name
        self.points = points
    }
}

/// Partial `lineChart`: a captioned line chart, the legend under it and a note (how many
/// series were left out). `SVGChart.lineChart` makes it, so that the legend's colours are the
/// lines' colours.
public struct LineChartView: Sendable {
    public var caption: String
    public var svg: SafeHTML
    public var legend: [LegendEntryView]
    public var hasNote: Bool
    public var note: String

    public init(caption: String, svg: SafeHTML, legend: [LegendEntryView], note: String = "") {
        self.caption = caption
        self.svg = svg
        self.legend = legend
        hasNote = !note.isEmpty
        self.note = note
    }
}

/// One legend entry: a series' name and the class (`series-3`) that colours its line and swatch.
public struct LegendEntryView: Sendable, Equatable {
    public var name: String
    /// `name` with a `<wbr>` after each `,`, `=`, `.`..., so that a long label set wraps there.
    public var nameHTML: SafeHTML
    public var colourClass: String

    public init(name: String, colourClass: String) {
        self.name = name
        nameHTML = .breakable(name)
        self.colourClass = colourClass
    }
}

extension SVGChart {
    /// Line chart geometry: the viewBox and the plot inside it (room for the y labels on the left
    /// and the times below).
    struct LineLayout {
        static let width = 800.0, height = 260.0
        static let plotLeft = 56.0, plotRight = 788.0, plotTop = 10.0, plotBottom = 230.0
        static var plotWidth: Double { plotRight - plotLeft }
        static var plotHeight: Double { plotBottom - plotTop }
        static let timeBaseline = 250.0
        /// A time label is drawn only this far inside the plot's edges, so that it cannot run
        /// past the viewBox or into the `UTC` label.
        static let labelInset = 24.0
    }

    /// Lines are coloured by class, `series-0` to `series-9` in turn (the stylesheet's palette).
    public static let palette = 10

    public static func colourClass(_ index: Int) -> String { "series-\(index % palette)" }

    /// The series as a chart with its legend, at most `maxSeries` of them (the first ones),
    /// with a note saying how many were left out.
    public static func lineChart(
        _ series: [ChartSeries], from start: Date, to end: Date, step: TimeInterval, caption: String, label: String, maxSeries: Int = 50
    ) -> LineChartView {
        let drawn = Array(series.prefix(max(0, maxSeries)))
        return LineChartView(
            caption: caption, svg: lines(drawn, from: start, to: end, step: step, label: label),
            legend: drawn.enumerated().map { LegendEntryView(name: $0.element.name, colourClass: colourClass($0.offset)) },
            note: drawn.count < series.count ? "showing \(drawn.count) of \(series.count) series" : "")
    }

    /// Values over time from `start` to `end`: one line per series (a point alone is a dot), the
    /// y axis with round ticks, times in UTC on the x axis, each series' name as its `<title>`.
    /// Two points further apart than one and a half `step`s are not joined (the series was
    /// absent between them), nor are points on either side of a value that is not finite.
    public static func lines(_ series: [ChartSeries], from start: Date, to end: Date, step: TimeInterval, label: String) -> SafeHTML {
        typealias L = LineLayout
        let span = max(end.timeIntervalSince(start), 0)
        let axis = ValueAxis(series.flatMap { $0.points.filter { $0.time >= start && $0.time <= end }.map(\.value) })
        // Both stay finite whatever the data: a degenerate span or axis draws at the middle or the bottom.
        func x(_ time: Date) -> Double { span > 0 ? L.plotLeft + time.timeIntervalSince(start) / span * L.plotWidth : (L.plotLeft + L.plotRight) / 2 }
        func y(_ value: Double) -> Double {
            let height = axis.high - axis.low
            guard height > 0, height.isFinite else { return L.plotBottom }
            return L.plotBottom - (value - axis.low) / height * L.plotHeight
        }

        var svg = #"<svg class="chart-lines" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \#(number(L.width)) \#(number(L.height))" "#
        svg += #"preserveAspectRatio="xMinYMin meet" role="img" aria-label="\#(HTMLEscape.text(label))">"#
        for (tick, text) in zip(axis.ticks, axis.labels) {
            let at = y(tick)
            svg += segment(tick == axis.low ? "axis" : "grid", x1: L.plotLeft, y1: at, x2: L.plotRight, y2: at)
            svg += Self.text(text, x: L.plotLeft - 6, y: at + 4, anchor: "end", cssClass: "axis-label y-label")
        }
        for (time, text) in timeTicks(from: start, to: end) {
            let at = x(time)
            svg += segment("grid time-grid", x1: at, y1: L.plotTop, x2: at, y2: L.plotBottom)
            if at >= L.plotLeft + L.labelInset, at <= L.plotRight - L.labelInset {
                svg += Self.text(text, x: at, y: L.timeBaseline, anchor: "middle", cssClass: "axis-label x-label")
            }
        }
        svg += Self.text("UTC", x: L.plotLeft - 6, y: L.timeBaseline, anchor: "end", cssClass: "axis-label time-zone")

        for (index, one) in series.enumerated() {
            svg += #"<g class="series \#(colourClass(index))"><title>\#(HTMLEscape.text(one.name))</title>"#
            for run in runs(one.points.filter { $0.time >= start && $0.time <= end }, step: step) {
                let coordinates = thinned(run.map { (x($0.time), y($0.value)) })
                if coordinates.count == 1 {
                    svg += #"<circle cx="\#(number(coordinates[0].0))" cy="\#(number(coordinates[0].1))" r="2.5"/>"#
                } else {
                    svg += #"<polyline points="\#(coordinates.map { "\(number($0.0)),\(number($0.1))" }.joined(separator: " "))"/>"#
                }
            }
            svg += "</g>"
        }
        return SafeHTML(trusted: svg + "</svg>")
    }

    private static func segment(_ cssClass: String, x1: Double, y1: Double, x2: Double, y2: Double) -> String {
        #"<line class="\#(cssClass)" x1="\#(number(x1))" y1="\#(number(y1))" x2="\#(number(x2))" y2="\#(number(y2))"/>"#
    }

    /// The stretches of a series to draw as one line each: split at gaps in time and at values
    /// that are not finite.
    static func runs(_ points: [(time: Date, value: Double)], step: TimeInterval) -> [[(time: Date, value: Double)]] {
        var runs: [[(time: Date, value: Double)]] = []
        var current: [(time: Date, value: Double)] = []
        for point in points {
            guard point.value.isFinite else {
                if !current.isEmpty { runs.append(current) }
                current = []
                continue
            }
            if let last = current.last, step > 0, point.time.timeIntervalSince(last.time) > step * 1.5 {
                runs.append(current)
                current = []
            }
            current.append(point)
        }
        if !current.isEmpty { runs.append(current) }
        return runs
    }

    /// At most four points per pixel column (its first, lowest, highest and last, in order), so
    /// that 11,000 steps draw the same line as all of them in a fraction of the bytes.
    static func thinned(_ points: [(Double, Double)]) -> [(Double, Double)] {
        guard points.count > Int(LineLayout.plotWidth) * 2 else { return points }
        var kept: [(Double, Double)] = []
        var column: [(Double, Double)] = []
        func flush() {
            guard let first = column.first, let last = column.last else { return }
            let low = column.min { $0.1 < $1.1 }!, high = column.max { $0.1 < $1.1 }!
            let ordered = [first, low, high, last].enumerated().sorted { lhs, rhs in
                lhs.element.0 != rhs.element.0 ? lhs.element.0 < rhs.element.0 : lhs.offset < rhs.offset
            }.map(\.element)
            for point in ordered where kept.last.map({ $0 != point }) ?? true { kept.append(point) }
            column = []
        }
        for point in points {
            if let first = column.first, Int(first.0) != Int(point.0) { flush() }
            column.append(point)
        }
        flush()
        return kept
    }

    /// Round ticks between `low` and `high` (1, 2 or 5 times a power of ten apart, three to seven
    /// of them), labelled with just the decimals the step needs (so no two labels read the same)
    /// and `k`, `M`, `B` for thousands, millions, billions past four digits. The axis starts at zero for values that are not far from it (counts
    /// and rates read from zero), and at the lowest value otherwise (timestamps, gauges).
    struct ValueAxis {
        let low: Double
        let high: Double
        let ticks: [Double]
        let labels: [String]

        init(_ values: [Double]) {
            let finite = values.filter(\.isFinite)
            var low = finite.min() ?? 0, high = finite.max() ?? 1
            if low > 0, low <= high / 2 { low = 0 }
            if high < 0, high >= low / 2 { high = 0 }
            if high == low {
                let pad = low == 0 ? 1 : abs(low) / 10
                (low, high) = low >= 0 && low - pad < 0 ? (0, high + pad) : (low - pad, high + pad)
            }
            let step = Self.niceStep((high - low) / 5)
            let first = (low / step).rounded(.down), last = (high / step).rounded(.up)
            // Values near Double's limits: no round ticks, just the ends.
            guard (high - low).isFinite, last - first <= 20 else {
                (self.low, self.high) = (low, high)
                ticks = [low, high]
                labels = ticks.map(WebFormat.number)
                return
            }
            self.low = first * step
            self.high = last * step
            ticks = stride(from: first, through: last, by: 1).map { $0 * step }
            let largest = max(abs(self.low), abs(self.high))
            // Four digits fit the labels' column as they are; past that, thousands, millions, billions.
            let (unit, suffix): (Double, String) = largest >= 1e10 ? (1e9, "B") : largest >= 1e7 ? (1e6, "M") : largest >= 1e4 ? (1e3, "k") : (1, "")
            let decimals = max(0, -Int(log10(step / unit).rounded(.down)))
            labels = ticks.map { $0 == 0 ? "0" : WebFormat.fixed($0 / unit, decimals: decimals) + suffix }
        }

        /// The smallest of 1, 2, 5 × 10ⁿ at least `raw`.
        static func niceStep(_ raw: Double) -> Double {
            guard raw > 0, raw.isFinite else { return 1 }
            let magnitude = pow(10, log10(raw).rounded(.down))
            for factor in [1.0, 2, 5, 10] where factor * magnitude >= raw * (1 - 1e-9) { return factor * magnitude }
            return 10 * magnitude
        }
    }

    /// Tick intervals for times, in seconds: the first that gives at most six ticks is used.
    static let timeSteps: [TimeInterval] = [
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400,
    ]

    /// Times at round UTC moments between `start` and `end` with their labels: `14:05:30` for
    /// steps under a minute, `14:05` under a day (`May 3` at midnight), `May 3` for days.
    static func timeTicks(from start: Date, to end: Date) -> [(Date, String)] {
        let span = end.timeIntervalSince(start)
        guard span > 0 else { return [(start, WebFormat.clock(start))] }
        let interval = timeSteps.first { span / $0 <= 6 } ?? (span / 6 / 86400).rounded(.up) * 86400
        var ticks: [(Date, String)] = []
        var tick = (start.timeIntervalSince1970 / interval).rounded(.up) * interval
        while tick <= end.timeIntervalSince1970 {
            let time = Date(timeIntervalSince1970: tick)
            let midnight = tick.truncatingRemainder(dividingBy: 86400) == 0
            let text =
                interval < 60 ? WebFormat.clockSeconds(time) : interval < 86400 && !midnight ? WebFormat.clock(time) : WebFormat.monthDay(time)
            ticks.append((time, text))
            tick += interval
        }
        return ticks
    }
}
