/// Times are milliseconds since the Unix epoch, as in Prometheus.
public typealias Timestamp = Int64

/// One value of a series at one time.
public struct Sample: Sendable, Hashable {
    public var t: Timestamp
    public var v: Double

    public init(t: Timestamp, v: Double) {
        self.t = t
        self.v = v
    }

    /// NaN equals NaN, so that results compare as Prometheus's tests compare them.
    public static func == (lhs: Sample, rhs: Sample) -> Bool {
        lhs.t == rhs.t && (lhs.v == rhs.v || (lhs.v.isNaN && rhs.v.isNaN))
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(t)
        hasher.combine(v.isNaN ? Double.nan.bitPattern : v.bitPattern)
    }
}

/// One element of an instant vector.
public struct VectorElement: Sendable, Hashable {
    public var labels: Labels
    public var sample: Sample

    public init(labels: Labels, sample: Sample) {
        self.labels = labels
        self.sample = sample
    }
}

/// One series of a range vector or of a range query's result: samples in time order.
public struct SeriesValues: Sendable, Hashable {
    public var labels: Labels
    public var samples: [Sample]

    public init(labels: Labels, samples: [Sample]) {
        self.labels = labels
        self.samples = samples
    }
}

/// What a query returns, in the shapes of Prometheus's API (`resultType`).
public enum QueryValue: Sendable, Hashable {
    case scalar(Sample)
    case string(t: Timestamp, value: String)
    /// Instant query results, in the order Prometheus returns them (sorted by labels unless the
    /// query ends in `sort`, `sort_desc`, `topk` or `bottomk`).
    case vector([VectorElement])
    /// Range query results and range vectors, sorted by labels.
    case matrix([SeriesValues])

    /// `scalar`, `string`, `vector`, `matrix`: Prometheus's `resultType`.
    public var resultType: String {
        switch self {
        case .scalar: return "scalar"
        case .string: return "string"
        case .vector: return "vector"
        case .matrix: return "matrix"
        }
    }
}
