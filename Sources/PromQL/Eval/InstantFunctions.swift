import Foundation

/// Calls: range-vector functions go to `evalRangeCall`; the rest work on instant vectors and
/// scalars, mostly element by element (so series by series, not step by step).
extension Evaluator {
    func evalCall(_ call: Call) async throws(QueryError) -> StepValue {
        let name = call.function.name
        if RangeFunction(rawValue: name) != nil {
            return .vector(try await evalRangeCall(call))
        }
        // `timestamp(x)` of a selector gives its samples' own times, not the evaluation times.
        if name == "timestamp", case .vectorSelector(let selector) = unwrappingParens(call.args[0]) {
            let series = try await evalVectorSelector(selector, hint: name, timestamps: true)
            return .vector(try mergingEqualLabels(series.map { StepSeries(labels: $0.labels.droppingMetricName, points: $0.points) }))
        }
        switch name {
        case "time":
            return .scalar(grid.times.map { Double($0) / 1000 })
        case "pi":
            return .scalar([Double](repeating: .pi, count: grid.count))
        case "vector":
            let values = try await evalScalar(call.args[0], hint: name)
            let points = zip(grid.times, values).map { Sample(t: $0, v: $1) }
            return .vector(points.isEmpty ? [] : [StepSeries(labels: Labels(), points: points)])
        case "scalar":
            let vector = try await evalVector(call.args[0], hint: name)
            let byStep = PointsByStep(vector, grid: grid)
            return .scalar((0..<grid.count).map { step in
                let entries = byStep.entries(step)
                return entries.count == 1 ? byStep.values[entries.lowerBound] : .nan
            })
        case "absent":
            let vector = try await evalVector(call.args[0], hint: name)
            var labels = Labels()
            if case .vectorSelector(let selector) = unwrappingParens(call.args[0]) { labels = labelsForAbsent(selector) }
            var present = [Bool](repeating: false, count: grid.count)
            for item in vector { for point in item.points { present[grid.index(of: point.t)] = true } }
            let points = (0..<grid.count).filter { !present[$0] }.map { Sample(t: grid.time($0), v: 1) }
            return .vector(points.isEmpty ? [] : [StepSeries(labels: labels, points: points)])
        case "day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour", "minute", "month", "year":
            guard let argument = call.args.first else {
                let points = grid.times.map { Sample(t: $0, v: calendarField(name, seconds: $0 / 1000)) }
                return .vector(points.isEmpty ? [] : [StepSeries(labels: Labels(), points: points)])
            }
            let vector = try await evalVector(argument, hint: name)
            return .vector(try mapped(vector) { sample, _ in calendarField(name, seconds: goInt64(sample.v)) })
        case "sort", "sort_desc":
            let vector = try await evalVector(call.args[0], hint: name)
            return .vector(sortedByValue(vector, descending: name == "sort_desc"))
        case "clamp", "clamp_min", "clamp_max", "round":
            return .vector(try await clampOrRound(call))
        case "label_replace":
            let vector = try await evalVector(call.args[0], hint: name)
            return .vector(try labelReplace(
                vector, destination: stringLiteral(call.args[1]), replacement: stringLiteral(call.args[2]),
                source: stringLiteral(call.args[3]), regex: stringLiteral(call.args[4])))
        case "label_join":
            let vector = try await evalVector(call.args[0], hint: name)
            var sources: [String] = []
            for argument in call.args.dropFirst(3) { sources.append(try stringLiteral(argument)) }
            return .vector(try labelJoin(
                vector, destination: stringLiteral(call.args[1]), separator: stringLiteral(call.args[2]), sources: sources))
        case "histogram_quantile":
            let q = try await evalScalar(call.args[0], hint: name)
            let vector = try await evalVector(call.args[1], hint: name)
            return .vector(try histogramQuantile(q, vector))
        case "histogram_count", "histogram_sum", "histogram_fraction":
            // Only native histograms have a count, sum or fractions, and no series here is one:
            // Prometheus skips float samples, so the result is empty.
            for argument in call.args { _ = try await eval(argument, hint: name) }
            return .vector([])
        case "timestamp":
            // Of anything but a selector: the evaluation time.
            let vector = try await evalVector(call.args[0], hint: name)
            return .vector(try mapped(vector) { sample, _ in Double(sample.t) / 1000 })
        default:
            guard let function = Self.elementFunctions[name] else {
                throw QueryError(.execution, "function \(name) is not supported")
            }
            let vector = try await evalVector(call.args[0], hint: name)
            return .vector(try mapped(vector) { sample, _ in function(sample.v) })
        }
    }

    /// Every element through `transform` (given the step index), the metric name dropped;
    /// nil drops the element.
    func mapped(_ vector: [StepSeries], _ transform: (Sample, Int) -> Double?) throws(QueryError) -> [StepSeries] {
        var out: [StepSeries] = []
        out.reserveCapacity(vector.count)
        for item in vector {
            var points: [Sample] = []
            points.reserveCapacity(item.points.count)
            for point in item.points {
                if let value = transform(point, grid.index(of: point.t)) { points.append(Sample(t: point.t, v: value)) }
            }
            if !points.isEmpty { out.append(StepSeries(labels: item.labels.droppingMetricName, points: points)) }
        }
        return try mergingEqualLabels(out)
    }

    private func clampOrRound(_ call: Call) async throws(QueryError) -> [StepSeries] {
        let name = call.function.name
        let vector = try await evalVector(call.args[0], hint: name)
        var scalars: [[Double]] = []
        for argument in call.args.dropFirst() { scalars.append(try await evalScalar(argument, hint: name)) }
        switch name {
        case "clamp":
            return try mapped(vector) { sample, step in
                let low = scalars[0][step], high = scalars[1][step]
                return high < low ? nil : goMax(low, goMin(high, sample.v))
            }
        case "clamp_min":
            return try mapped(vector) { sample, step in goMax(scalars[0][step], sample.v) }
        case "clamp_max":
            return try mapped(vector) { sample, step in goMin(scalars[0][step], sample.v) }
        default:
            return try mapped(vector) { sample, step in
                // As Prometheus: by the inverse, which rounds better; ties go up.
                let inverse = 1.0 / (scalars.first?[step] ?? 1)
                return (sample.v * inverse + 0.5).rounded(.down) / inverse
            }
        }
    }

    /// `sort` and `sort_desc` order an instant query's result (NaN last); a range query's result
    /// is a matrix sorted by labels, so there they change nothing.
    private func sortedByValue(_ vector: [StepSeries], descending: Bool) -> [StepSeries] {
        guard grid.count == 1 else { return vector }
        return vector.sorted { a, b in
            let x = a.points[0].v, y = b.points[0].v
            if x.isNaN { return false }
            if y.isNaN { return true }
            return descending ? x > y : x < y
        }
    }

    /// The functions of one value, as Go's `math` package computes them.
    static let elementFunctions: [String: @Sendable (Double) -> Double] = [
        "abs": { abs($0) }, "ceil": { ceil($0) }, "floor": { floor($0) }, "exp": { exp($0) }, "sqrt": { sqrt($0) },
        "ln": { log($0) }, "log2": { log2($0) }, "log10": { log10($0) },
        "sin": { sin($0) }, "cos": { cos($0) }, "tan": { tan($0) }, "asin": { asin($0) }, "acos": { acos($0) },
        "atan": { atan($0) }, "sinh": { sinh($0) }, "cosh": { cosh($0) }, "tanh": { tanh($0) },
        "asinh": { asinh($0) }, "acosh": { acosh($0) }, "atanh": { atanh($0) },
        "rad": { $0 * .pi / 180 }, "deg": { $0 * 180 / .pi },
        "sgn": { $0 < 0 ? -1 : $0 > 0 ? 1 : $0 },
    ]
}

/// Go's `math.Max`: NaN wins over everything but +Inf; +0 over -0.
func goMax(_ x: Double, _ y: Double) -> Double {
    if x == .infinity || y == .infinity { return .infinity }
    if x.isNaN || y.isNaN { return .nan }
    if x == 0, y == 0 { return x.sign == .minus ? y : x }
    return x > y ? x : y
}

/// Go's `math.Min`: NaN wins over everything but -Inf; -0 over +0.
func goMin(_ x: Double, _ y: Double) -> Double {
    if x == -.infinity || y == -.infinity { return -.infinity }
    if x.isNaN || y.isNaN { return .nan }
    if x == 0, y == 0 { return x.sign == .minus ? x : y }
    return x < y ? x : y
}

/// Go's `int64(v)` on amd64: truncation, and the most negative value for what does not fit.
func goInt64(_ v: Double) -> Int64 {
    v >= -9.223372036854775808e18 && v < 9.223372036854775808e18 ? Int64(v) : Int64.min
}

/// The calendar functions, in UTC, of a time in seconds since the epoch.
func calendarField(_ name: String, seconds: Int64) -> Double {
    let (days, remainder) = seconds.floorDivided(by: 86_400)
    let (year, month, day) = civilDate(days: days)
    switch name {
    case "day_of_month": return Double(day)
    case "day_of_week": return Double(((days % 7) + 11) % 7)  // 1970-01-01 was a Thursday (4).
    case "day_of_year": return Double(days - daysFromCivil(year: year, month: 1, day: 1) + 1)
    case "days_in_month": return Double(daysInMonth(year: year, month: month))
    case "hour": return Double(remainder / 3600)
    case "minute": return Double(remainder % 3600 / 60)
    case "month": return Double(month)
    default: return Double(year)
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
func civilDate(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let dayOfEra = z - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let shiftedMonth = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
    let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
    return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
}

/// (year, month, day) to days since 1970-01-01 (`days_from_civil`).
func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yearOfEra = y - era * 400
    let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    return era * 146_097 + dayOfEra - 719_468
}

func daysInMonth(year: Int64, month: Int64) -> Int64 {
    switch month {
    case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
}

extension Int64 {
    /// Floor division and its non-negative remainder.
    func floorDivided(by divisor: Int64) -> (Int64, Int64) {
        let quotient = self / divisor, remainder = self % divisor
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
    }
}
